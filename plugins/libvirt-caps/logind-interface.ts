/**
 * The part of systemd-logind's Manager interface vpmd uses, as static introspection XML.
 * Static, not introspected: a proxy built from live introspection can miss signals, and every
 * input argument needs `direction="in"` or dbus-next treats it as an output.
 */

/** logind's well-known bus name. */
export const LOGIND_NAME = 'org.freedesktop.login1';
/** The manager object. */
export const LOGIND_OBJECT = '/org/freedesktop/login1';
/** The manager interface. */
export const LOGIND_MANAGER = 'org.freedesktop.login1.Manager';

/** logind's sleep verbs, each with a `(b interactive)` and a `(t flags)` WithFlags form. */
export type LogindVerb = 'Suspend' | 'Hibernate' | 'HybridSleep' | 'SuspendThenHibernate';

/** Every sleep verb. */
export const LOGIND_VERBS: readonly LogindVerb[] = ['Suspend', 'Hibernate', 'HybridSleep', 'SuspendThenHibernate'];

const verbMethods = LOGIND_VERBS.map(
  (v) => `
    <method name="${v}"><arg name="interactive" type="b" direction="in"/></method>
    <method name="${v}WithFlags"><arg name="flags" type="t" direction="in"/></method>
    <method name="Can${v}"><arg name="result" type="s" direction="out"/></method>`,
).join('');

/** Introspection XML of the manager object, limited to what vpmd calls or listens to. */
export const LOGIND_INTROSPECTION = `<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
  <interface name="${LOGIND_MANAGER}">${verbMethods}
    <method name="Inhibit">
      <arg name="what" type="s" direction="in"/>
      <arg name="who" type="s" direction="in"/>
      <arg name="why" type="s" direction="in"/>
      <arg name="mode" type="s" direction="in"/>
      <arg name="fd" type="h" direction="out"/>
    </method>
    <signal name="PrepareForSleep"><arg name="start" type="b"/></signal>
  </interface>
</node>`;
