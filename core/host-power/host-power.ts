/**
 * The core's host-power service (`host-power@1`): what the host can do now and why not (logind's
 * CanPowerOff/CanReboot, the systemd manager's introspection and vpmd's uid), power-off and
 * reboot in both modes, and logind sessions whose suspend sets the RTC wake alarm. Each action
 * checks ConfigureComponents, refuses what is not offered, and is audited with its cause.
 *
 * On a simulated host (the demo, the tests) the machine's own bus is never used unless
 * `hostPower.busAddress` names one: powering off the machine a demo runs on would be a nasty
 * surprise, so not even DBUS_SYSTEM_BUS_ADDRESS is followed.
 */
import { VpmdError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AccessPolicy } from '../access/access-policy.js';
import type { Principal } from '../access/privileges.js';
import type { EventBus } from '../services/event-bus.js';
import type { HostRtc } from '../host/index.js';
import type { SleepTarget } from '../contracts/host-sleep.js';
import type {
  HostPower,
  HostPowerOffers,
  InhibitorLock,
  LogindSession,
  PowerMode,
  PowerOffer,
  SleepCall,
  SleepCallOutcome,
} from '../contracts/host-power.js';
import { systemBusAddress } from './bounded-bus.js';
import { LOGIND_VERB_OF, LogindManager } from './logind.js';
import { SystemdManager, type SystemdAction } from './systemd.js';

/** Settings of the service (core config `hostPower`, `host.simulated`). */
export interface HostPowerSettings {
  /** `hostPower.busAddress`; unset: DBUS_SYSTEM_BUS_ADDRESS, else the system bus (never on a simulated host). */
  readonly busAddress?: string;
  /** Bound of each D-Bus exchange. */
  readonly timeoutMs: number;
  readonly simulated: boolean;
  /** How long offers are kept (default 5 s). */
  readonly offersTtlMs?: number;
  /** vpmd's effective uid (default process.geteuid; injectable for tests). */
  readonly effectiveUid?: () => number | undefined;
}

/** What the service uses of the core. */
export interface HostPowerDeps {
  readonly access: AccessPolicy;
  readonly bus: EventBus;
  readonly rtc: HostRtc;
  readonly log: Logger;
}

const NOT_USED = (what: string): string =>
  `simulated host: the system ${what} is not used (set hostPower.busAddress to use one)`;

const FORCE_WHY: Readonly<Record<SystemdAction, string>> = {
  Reboot: 'systemd manager Reboot(), as systemctl reboot --force: services are not stopped in order',
  PowerOff: 'systemd manager PowerOff(), as systemctl poweroff --force: services are not stopped in order',
};

/** `name@origin(address)`, as host.power.v1 names the requester. */
function who(p: Principal): string {
  return `${p.name}@${p.origin}${p.address === undefined ? '' : `(${p.address})`}`;
}

function logindOffer(answer: string, verb: 'PowerOff' | 'Reboot'): PowerOffer {
  if (answer === 'yes') return { offered: true, why: `systemd-logind ${verb}` };
  const extra = answer === 'challenge' ? ' (needs interactive authorization)' : '';
  return { offered: false, why: `systemd-logind answers Can${verb}=${answer}${extra}` };
}

/** See the module comment. */
export class HostPowerService implements HostPower {
  readonly bus: HostPower['bus'];
  private readonly systemd: SystemdManager | undefined;
  private cached: Promise<HostPowerOffers> | undefined;

  constructor(
    private readonly settings: HostPowerSettings,
    private readonly deps: HostPowerDeps,
  ) {
    const configured = settings.busAddress;
    this.bus =
      configured === undefined && settings.simulated
        ? { why: NOT_USED('bus') }
        : { address: systemBusAddress(configured) };
    this.systemd =
      this.bus.address === undefined
        ? undefined
        : new SystemdManager({
            address: this.bus.address,
            hostBus: configured === undefined,
            timeoutMs: settings.timeoutMs,
            ...(settings.effectiveUid ? { effectiveUid: settings.effectiveUid } : {}),
          });
  }

  offers(opts: { readonly fresh?: boolean } = {}): Promise<HostPowerOffers> {
    const ttl = this.settings.offersTtlMs ?? 5000;
    const at = Date.now();
    if (opts.fresh === true || this.cached === undefined) this.cached = this.probe(at);
    const mine = this.cached;
    return mine.then((o) => {
      if (at - o.at <= ttl || this.cached !== mine) return o;
      this.cached = this.probe(Date.now());
      return this.cached;
    });
  }

  async openLogind(): Promise<LogindSession> {
    const address = this.bus.address;
    if (address === undefined) throw new VpmdError('E_HOST_POWER_UNAVAILABLE', NOT_USED('logind'), { peer: 'logind' });
    const manager = await LogindManager.connect(address, this.settings.timeoutMs, true);
    return new Session(manager, this.deps);
  }

  powerOff(mode: PowerMode, by: Principal, cause: string): Promise<string> {
    return this.act('powerOff', mode, by, cause);
  }

  reboot(mode: PowerMode, by: Principal, cause: string): Promise<string> {
    return this.act('reboot', mode, by, cause);
  }

  private async act(op: 'powerOff' | 'reboot', mode: PowerMode, by: Principal, cause: string): Promise<string> {
    const method = op === 'powerOff' ? 'PowerOff' : 'Reboot';
    const name = op === 'powerOff' ? 'power-off' : 'reboot';
    const action =
      mode === 'graceful' ? `host ${name} (logind ${method})` : `host ${name} --force (systemd Manager.${method})`;
    this.deps.access.require(by, 'ConfigureComponents', action);
    const offer = (await this.offers())[op][mode];
    this.cached = undefined;
    const { access } = this.deps;
    if (!offer.offered) {
      const e = new VpmdError('E_HOST_POWER_NOT_OFFERED', `${action}: not offered: ${offer.why}`, { mode, op: name });
      access.audit(by, action, 'failed', `${cause}: ${e.message}`);
      throw e;
    }
    const address = this.bus.address as string;
    let done: string;
    try {
      if (mode === 'force') {
        await this.systemd?.force(method);
        done = `accepted by the systemd manager on ${address}`;
      } else {
        const manager = await LogindManager.connect(address, this.settings.timeoutMs, false);
        try {
          await manager.act(method);
        } finally {
          manager.close();
        }
        done = `accepted by systemd-logind on ${address}`;
      }
    } catch (e) {
      access.audit(by, action, 'failed', `${cause}: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    }
    access.audit(by, action, 'ok', `${cause}: ${done}`);
    // A reboot comes back on its own; a power-off is the last state anyone sees.
    if (op === 'powerOff')
      this.deps.bus.emit('host.power.v1', { state: 'off', timestamp: Date.now(), requestedBy: who(by) });
    return done;
  }

  /** Asks logind and the systemd manager side by side; never throws. */
  private async probe(at: number): Promise<HostPowerOffers> {
    const address = this.bus.address;
    if (address === undefined || this.systemd === undefined) {
      const graceful = { offered: false, why: NOT_USED('logind') };
      const force = { offered: false, why: NOT_USED('systemd manager') };
      return { powerOff: { graceful, force }, reboot: { graceful, force }, at };
    }
    const logind = async (): Promise<{ powerOff: PowerOffer; reboot: PowerOffer }> => {
      try {
        const manager = await LogindManager.connect(address, this.settings.timeoutMs, false);
        try {
          return {
            powerOff: logindOffer(await manager.can('PowerOff'), 'PowerOff'),
            reboot: logindOffer(await manager.can('Reboot'), 'Reboot'),
          };
        } finally {
          manager.close();
        }
      } catch (e) {
        const why = `systemd-logind unavailable: ${e instanceof Error ? e.message : String(e)}`;
        return { powerOff: { offered: false, why }, reboot: { offered: false, why } };
      }
    };
    const [graceful, force] = await Promise.all([logind(), this.systemd.probe()]);
    const forced = (a: SystemdAction): PowerOffer => {
      const answer = force[a];
      return answer.offered ? { offered: true, why: FORCE_WHY[a] } : { offered: false, why: answer.why };
    };
    return {
      powerOff: { graceful: graceful.powerOff, force: forced('PowerOff') },
      reboot: { graceful: graceful.reboot, force: forced('Reboot') },
      at,
    };
  }
}

/** A logind session as handed to a plugin: the manager plus the RTC and the audit trail. */
class Session implements LogindSession {
  constructor(
    private readonly manager: LogindManager,
    private readonly deps: HostPowerDeps,
  ) {}

  get address(): string {
    return this.manager.address;
  }

  get usable(): boolean {
    return this.manager.usable;
  }

  can(target: SleepTarget): ReturnType<LogindSession['can']> {
    return this.manager.can(LOGIND_VERB_OF[target]);
  }

  inhibit(what: string, who: string, why: string, mode: 'block' | 'delay'): Promise<InhibitorLock> {
    return this.manager.inhibit(what, who, why, mode);
  }

  async suspend(call: SleepCall, by: Principal, cause: string): Promise<SleepCallOutcome> {
    const verb = LOGIND_VERB_OF[call.target];
    const action = `host suspend ${call.target} (logind ${verb})`;
    const { access, rtc, log } = this.deps;
    access.require(by, 'ConfigureComponents', action);
    const steps: string[] = [];
    let alarmSet = false;
    try {
      if (call.wakeAlarm !== undefined) {
        const state = await rtc.setWakeAlarm(call.wakeAlarm, call.rtcDevice);
        alarmSet = true;
        steps.push(`${state.device} wake alarm set to ${state.wakeAlarm ?? call.wakeAlarm} and read back`);
      }
      const form = await this.manager.sleep(verb, call.flags);
      steps.push(
        form === 'WithFlags'
          ? `logind ${verb}WithFlags(${call.flags}) accepted`
          : `logind ${verb}(false) accepted (no WithFlags method)`,
      );
      access.audit(by, action, 'ok', `${cause}: ${steps.join('; ')}`);
      return { form, steps };
    } catch (e) {
      // Nothing may stay armed when the host does not go down.
      if (alarmSet)
        await rtc
          .clearWakeAlarm(call.rtcDevice)
          .catch((err: unknown) => log.error({ err }, 'could not clear the wake alarm after a failed suspend'));
      access.audit(by, action, 'failed', `${cause}: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    }
  }

  onPrepareForSleep(fn: (start: boolean) => void): () => void {
    return this.manager.onPrepareForSleep(fn);
  }

  close(): void {
    this.manager.close();
  }
}
