/**
 * The `realtime` row of `vpmd doctor`, shown when virtio-channels is on: does the agent's event
 * loop run under SCHED_FIFO? DPDK guests wait 10 ms per reply and read a later one as the answer
 * to their next request. On a host whose cores are saturated an ordinary task misses that window
 * now and then (docs/virtio-channels.md, "Scheduling"); `schedFifoPriority` with the shipped
 * drop-in is what holds it. The check reads the running agent's main thread (found by the state
 * directory's lock), since the doctor's own privileges say nothing about the unit's.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CoreConfig } from '../../core/config/core-schema.js';
import { lockHolderOf, STATE_LOCK_FILE } from '../../core/state/state-lock.js';
import type { Finding } from './facility.js';

/** Where the drop-in shipped as packaging/systemd/vpmd.service.d/realtime.conf is installed. */
export const REALTIME_DROP_IN = '/etc/systemd/system/vpmd.service.d/realtime.conf';

const SCHED_FIFO = 1;
const SCHED_RR = 2;
/** The lock file that names the running agent (readable by root only under the shipped unit). */
const lockOf = (config: CoreConfig): string => join(config.state.dir, STATE_LOCK_FILE);

const FIX_PRIORITY = `set plugins.virtio-channels.schedFifoPriority: 10 and install packaging/systemd/vpmd.service.d/realtime.conf as ${REALTIME_DROP_IN}`;
const FIX_UNIT = `install packaging/systemd/vpmd.service.d/realtime.conf as ${REALTIME_DROP_IN}, then systemctl daemon-reload && systemctl restart vpmd (the shipped unit sets RestrictRealtime=yes)`;
const WHY_ORDINARY =
  'an ordinary task: when other work saturates the cores, some replies miss DPDK’s 10 ms (10 to 45 of 100,000 at 5,000/s with one core busy, docs/virtio-channels.md) and the guest then reads every later reply as the answer to the wrong request';

/**
 * Scheduling policy and RT priority of thread `tid` of process `pid` (proc(5) stat fields 41 and
 * 40; the main thread by default), or undefined when it cannot be read (gone, not permitted).
 */
export async function threadPolicy(pid: number, tid = pid): Promise<{ policy: number; priority: number } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd on
    return { priority: Number(fields[40 - 3]), policy: Number(fields[41 - 3]) };
  } catch {
    return undefined;
  }
}

/** The row, or none when virtio-channels is off (nothing else needs real-time scheduling). */
export async function checkRealtime(config: CoreConfig, dropIn = REALTIME_DROP_IN): Promise<Finding | undefined> {
  const section = config.plugins['virtio-channels'];
  if (section === undefined || section.enabled === false) return undefined;
  const raw = (section as Record<string, unknown>).schedFifoPriority;
  const priority = typeof raw === 'number' ? raw : 0;
  const holder = await lockHolderOf(config.state.dir);
  const sched = holder === undefined ? undefined : await threadPolicy(holder.pid);
  if (sched !== undefined && (sched.policy === SCHED_FIFO || sched.policy === SCHED_RR))
    return {
      id: 'realtime',
      status: 'yes',
      found: `the agent's event loop (pid ${holder?.pid}) runs under ${sched.policy === SCHED_RR ? 'SCHED_RR' : 'SCHED_FIFO'} ${sched.priority}`,
    };
  if (priority === 0)
    return {
      id: 'realtime',
      status: 'degraded',
      found: 'schedFifoPriority 0: the agent’s event loop is an ordinary task',
      why: WHY_ORDINARY,
      fix: FIX_PRIORITY,
    };
  if (sched !== undefined)
    return {
      id: 'realtime',
      status: 'no',
      found: `schedFifoPriority ${priority}, but the agent's event loop (pid ${holder?.pid}) is an ordinary task`,
      why:
        'the agent could not take SCHED_FIFO (no CAP_SYS_NICE, or RestrictRealtime=yes; its log says which); ' +
        WHY_ORDINARY,
      fix: FIX_UNIT,
    };
  return existsSync(dropIn)
    ? {
        id: 'realtime',
        status: 'yes',
        found: `schedFifoPriority ${priority}; ${dropIn} allows it (no running agent found by ${lockOf(config)} to check)`,
      }
    : {
        id: 'realtime',
        status: 'degraded',
        found: `schedFifoPriority ${priority}; no running agent found by ${lockOf(config)} to check, and ${dropIn} is not installed`,
        why: 'under the shipped unit (RestrictRealtime=yes, no CAP_SYS_NICE) the agent cannot take SCHED_FIFO; started otherwise (as root, or with CAP_SYS_NICE) it can',
        fix: FIX_UNIT,
      };
}
