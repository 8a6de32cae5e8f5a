/**
 * Real peers for integration tests: a private D-Bus with a mocked logind, a mocked systemd
 * manager and libvirt-dbus, and simulated BMCs (ipmi_sim). Install the programs with
 * scripts/setup-peers.sh; see docs/testing-peers.md for usage and quirks.
 */
export { SETUP_PEERS_SCRIPT } from './peer-errors.js';
export {
  BusClient,
  DEFAULT_CALL_TIMEOUT_MS,
  plainValue,
  type BusCallSpec,
  type ReceivedSignal,
  type SignalMatch,
} from './bus-client.js';
export { startPrivateBus, type BusAddress, type PrivateBus, type PrivateBusOptions } from './private-bus.js';
export {
  DEFAULT_LOGIND_PROPS,
  LOGIND_BUS_NAME,
  LOGIND_MANAGER_IFACE,
  LOGIND_PATH,
  listInhibitors,
  startLogindMock,
  type LogindAnswer,
  type LogindCall,
  type LogindMethod,
  type LogindMock,
  type LogindMockOptions,
  type LogindProps,
  type LogindSleepVerb,
} from './logind-mock.js';
export {
  SYSTEMD_BUS_NAME,
  SYSTEMD_MANAGER_IFACE,
  SYSTEMD_PATH,
  startSystemdMock,
  type SystemdCall,
  type SystemdMock,
  type SystemdMockOptions,
  type SystemdRebootBehaviour,
} from './systemd-mock.js';
export {
  LIBVIRT_BUS_NAME,
  LIBVIRT_CONNECT_IFACE,
  LIBVIRT_DOMAIN_IFACE,
  LIBVIRT_QEMU_PATH,
  LIBVIRT_TEST_PATH,
  startLibvirtDbus,
  type LibvirtDbusOptions,
  type LibvirtDbusPeer,
} from './libvirt-dbus.js';
export {
  MAX_BMCS_PER_PROCESS,
  MAX_SIM_BMCS,
  startIpmiSim,
  type IpmiSimOptions,
  type IpmiSimPeer,
  type IpmiSimTarget,
} from './ipmi-sim.js';
export { DEFAULT_SIM_USERS, type SimPrivilege, type SimUser } from './ipmi-sim-files.js';
export {
  DEFAULT_SIM_SEL,
  DEFAULT_SIM_SENSORS,
  SIM_SENSOR_TYPES,
  type SimAnalogSensor,
  type SimDiscreteSensor,
  type SimEntity,
  type SimSelEntry,
  type SimSensorSpec,
  type SimSensorType,
  type SimSensorUnit,
  type SimThresholds,
} from './ipmi-sim-sensors.js';
export { runIpmitool, type IpmitoolResult, type IpmitoolTarget } from './ipmi-sim-net.js';
export { freeTcpPorts, freeUdpPorts } from './free-ports.js';
export {
  findRedfishMockup,
  startRedfishMockup,
  type RedfishMockup,
  type RedfishMockupOptions,
} from './redfish-mockup.js';
export { realVmScript, startRealVm, type GuestResult, type RealVm, type RealVmOptions } from './real-vm.js';
export { pollUntil, withTimeout, type PollOptions } from './wait.js';
