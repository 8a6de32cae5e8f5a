/** The core's host power (`host-power@1`): logind and the systemd manager over one bounded D-Bus client. */
export { HostPowerService, type HostPowerSettings, type HostPowerDeps } from './host-power.js';
export {
  BoundedBus,
  busError,
  systemBusAddress,
  DEFAULT_SYSTEM_BUS,
  type BusPeer,
  type BusCall,
} from './bounded-bus.js';
export {
  LogindManager,
  LOGIND_INTROSPECTION,
  LOGIND_MANAGER,
  LOGIND_NAME,
  LOGIND_OBJECT,
  LOGIND_VERB_OF,
  type LogindVerb,
} from './logind.js';
export {
  SystemdManager,
  declaresMethod,
  notRootReason,
  type SystemdAction,
  type SystemdAnswer,
  type SystemdManagerOptions,
} from './systemd.js';
