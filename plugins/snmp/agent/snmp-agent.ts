/**
 * Composition of the SNMP agent inside the plugin: persistent engine identity, users, the MIB
 * sources over telemetry, the host model and the optional capabilities, and the UDP server.
 */
import { hostname } from 'node:os';
import {
  BMCS,
  ENERGY,
  GUEST_CHANNELS,
  HOST_SLEEP,
  POWER_CONTROL,
  POWER_PROFILES,
  VpmdError,
  type HostPowerState,
  type PluginContext,
  type SleepTarget,
} from 'vpmd';
import { AgentServer } from './agent-server.js';
import { UserStore, bootEngine } from '../engine/agent-identity.js';
import { MibCache, type MibSource } from '../mib/mib-index.js';
import { UsmEngine } from '../engine/usm-engine.js';
import type { SnmpConfig } from '../config.js';
import { EntityIndexes, entPhysicalSource, entSensorSource, type EntityInputs } from '../mib/mibs/entities.js';
import { ProcessorLoad, eoPowerSource, hostResourcesSource, systemSource } from '../mib/mibs/standard.js';
import { profilesSource } from '../mib/mibs/profiles.js';
import { VPMD, VPMD_AGENT_ID, VpmdMib } from '../mib/mibs/vpmd-mib.js';
import { vmEnergySource } from '../mib/mibs/vm-energy.js';
import { vpmdPowerSource } from '../mib/mibs/vpmd-power.js';
import { AgentxSubagent } from './agentx.js';
import { HostEnergy, eoEnergySource } from '../mib/mibs/energy.js';
import { loadCommunities, type CommunityTable } from '../engine/community.js';
import { warnWeakModes } from './weak-modes.js';

/** The running agent's public facts (for `vpmctl snmp status` and the notifier). */
export interface AgentFacts {
  readonly address: string;
  readonly port: number;
  readonly agentx: string;
  readonly engineId: string;
  readonly boots: number;
  readonly time: number;
  readonly users: number;
  readonly objects: number;
  readonly stats: Record<string, number>;
}

/** The SNMP agent of one plugin instance. */
export class SnmpAgent {
  users: UserStore | undefined;
  engine: UsmEngine | undefined;
  private server: AgentServer | undefined;
  private subagent: AgentxSubagent | undefined;
  private bound: { address: string; port: number } | undefined;
  private readonly load: ProcessorLoad;
  private mib: MibCache | undefined;
  private communities: CommunityTable | undefined;
  private readonly startedAt = Date.now();
  private readonly energy = new HostEnergy();
  /** The last host power state seen on host.power.v1 (when there is no host-sleep provider). */
  hostPower: { state: HostPowerState | 'off'; target?: SleepTarget; reason: string } = { state: 'on', reason: '' };

  constructor(private readonly ctx: PluginContext<SnmpConfig>) {
    this.load = new ProcessorLoad(ctx.host.backend);
  }

  /** Ticks (1/100 s) since the agent started: sysUpTime. */
  uptimeTicks(): number {
    return Math.floor((Date.now() - this.startedAt) / 10);
  }

  /** Boots the engine, loads users, binds the socket. @throws E_SNMP_LISTEN, E_SNMP_USER. */
  async start(): Promise<void> {
    const ctx = this.ctx;
    const { engineId, boots } = await bootEngine(ctx.state, ctx.config.engineId);
    this.users = new UserStore(ctx.state, engineId, ctx.config.users, (msg, name) => ctx.log.warn({ user: name }, msg));
    await this.users.load();
    const users = this.users;
    this.engine = new UsmEngine({
      engineId,
      boots,
      startedAt: Date.now(),
      users: () => users.byName(),
      minLevel: ctx.config.minSecurityLevel,
    });
    const indexes = new EntityIndexes(ctx.state);
    await indexes.load();
    await this.load.sample();
    ctx.scheduler.every('cpu-load', 5000, () => this.load.sample());
    const sources = this.sources(indexes);
    this.mib = new MibCache(
      () => sources,
      ctx.config.cacheSeconds * 1000,
      (name, e) => ctx.log.warn({ source: name, err: e instanceof Error ? e.message : String(e) }, 'MIB source failed'),
    );
    if (ctx.config.mode !== 'agent') {
      this.subagent = new AgentxSubagent({
        socket: ctx.config.agentxSocket,
        mib: this.mib,
        roots: [[1, 3, 6, 1, 2, 1, 47, 1, 1, 1], [1, 3, 6, 1, 2, 1, 99, 1, 1], [1, 3, 6, 1, 2, 1, 229, 1], VPMD],
        uptimeTicks: () => this.uptimeTicks(),
        log: ctx.log,
      });
      this.subagent.start();
    }
    if (ctx.config.mode === 'agentx') return;
    const address = ctx.access.bindAddress();
    this.communities = await loadCommunities(ctx.config.communities, (msg, detail) => ctx.log.warn(detail, msg));
    warnWeakModes(ctx);
    this.server = new AgentServer({
      communities: this.communities,
      engine: this.engine,
      mib: this.mib,
      address,
      port: ctx.config.port,
      allowed: (a) => ctx.access.isAddressAllowed(a.replace(/^::ffff:/, '')),
      log: ctx.log,
      audit: (p, action, outcome, detail) => ctx.access.audit(p, action, outcome, detail),
    });
    try {
      this.bound = await this.server.start();
    } catch (e) {
      throw new VpmdError(
        'E_SNMP_LISTEN',
        `snmp agent cannot listen on udp ${address}:${ctx.config.port}: ${e instanceof Error ? e.message : String(e)}`,
        {
          address,
          port: ctx.config.port,
        },
      );
    }
    ctx.log.info(
      {
        address: this.bound.address,
        port: this.bound.port,
        engineId: engineId.toString('hex'),
        boots,
        users: users.list().length,
      },
      'snmp agent listening',
    );
  }

  /** Closes the socket. */
  async stop(): Promise<void> {
    this.subagent?.stop();
    await this.server?.stop();
  }

  /** Facts for status. */
  async facts(): Promise<AgentFacts | undefined> {
    if (!this.engine || !this.users || !this.mib) return undefined;
    return {
      address: this.bound?.address ?? '-',
      port: this.bound?.port ?? 0,
      agentx: this.subagent
        ? this.subagent.registered
          ? `registered with ${this.ctx.config.agentxSocket}`
          : `connecting to ${this.ctx.config.agentxSocket}`
        : 'off',
      engineId: this.engine.engineId.toString('hex'),
      boots: this.engine.boots,
      time: this.engine.time(),
      users: this.users.list().length,
      objects: (await this.mib.index()).size,
      stats: {
        ...this.engine.stats,
        refusedAddresses: this.server?.refused ?? 0,
        ...(this.communities?.size
          ? {
              badCommunityNames: this.communities.badCommunityNames,
              badCommunityUses: this.communities.badCommunityUses,
            }
          : {}),
      },
    };
  }

  private sources(indexes: EntityIndexes): MibSource[] {
    const ctx = this.ctx;
    const metrics = (): ReturnType<typeof ctx.telemetry.list> =>
      ctx.telemetry.list().sort((a, b) => a.id.localeCompare(b.id));
    const inputs: EntityInputs = {
      hostName: hostname(),
      cpus: async () => {
        const t = await ctx.host.topology();
        return t.cpus.filter((c) => c.online).map((c) => ({ cpu: c.cpu, model: t.identity.modelName ?? 'CPU' }));
      },
      metrics,
      targets: () => [
        ...(ctx.capabilities.find(BMCS)?.targets() ?? []).map((b) => ({
          name: b.name,
          descr: `BMC ${b.name} (${b.host}:${b.port})`,
        })),
        ...ctx.config.targets.map((t) => ({
          name: t.name,
          descr: `SNMP device ${t.name} (${t.address}:${t.port}, ${t.profile})`,
        })),
      ],
      indexes,
      ticksAt: (ms) => Math.max(0, Math.floor((ms - this.startedAt) / 10)),
    };
    const vpmd = new VpmdMib({
      host: ctx.host,
      sleep: () => ctx.capabilities.find(HOST_SLEEP),
      guests: () => ctx.capabilities.find(GUEST_CHANNELS),
      suspendAckMs: 2000,
      log: (msg, detail) => ctx.log.warn(detail, msg),
    });
    return [
      systemSource({
        descr: `vpmd SNMPv3 agent on ${hostname()}`,
        objectId: VPMD_AGENT_ID,
        contact: ctx.config.sysContact,
        name: hostname(),
        location: ctx.config.sysLocation,
        uptimeTicks: () => this.uptimeTicks(),
      }),
      hostResourcesSource(ctx.host.backend, this.load),
      entPhysicalSource(inputs),
      entSensorSource(inputs),
      eoPowerSource({
        metrics,
        indexOf: (id) => indexes.indexOf(`metric:${id}`),
        hostState: () => {
          const sleep = ctx.capabilities.find(HOST_SLEEP);
          return sleep ? { ...this.hostPower, state: sleep.state() } : this.hostPower;
        },
      }),
      eoEnergySource(
        { metrics, indexOf: (id) => indexes.indexOf(`metric:${id}`), uptimeTicks: () => this.uptimeTicks() },
        this.energy,
      ),
      vpmd.source(),
      profilesSource(() => ctx.capabilities.find(POWER_PROFILES)),
      vmEnergySource(() => ctx.capabilities.find(ENERGY)),
      vpmdPowerSource(() => ctx.capabilities.find(POWER_CONTROL)),
      (this.engine as UsmEngine).source(),
    ];
  }
}
