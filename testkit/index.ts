/**
 * The vpmd test kit, exported to plugin authors as `vpmd/testkit`: boot a real agent with your
 * plugin on a simulated host, and start real peers (a private D-Bus with python-dbusmock's
 * logind, libvirt-dbus with its Test driver, ipmi_sim BMCs) on demand, or stand-in providers
 * such as an in-memory `domains@1`.
 */
export * from './boot-agent.js';
export * from './peers/index.js';
export { generateSimulatedHost, openSimulatedHost, SIM_PROFILES } from '../core/sim/index.js';
export * from './test-plugin.js';
export * from './in-memory-domains.js';
export * from './openssl-keys.js';
export * from './counting-sysfs.js';
