/**
 * `vpmd check-config` for the poller's part of `plugins.redfish`: everything the poller would
 * refuse at start, all at once rather than the first, each under its path in the section
 * (`targets[1].url`) with what is wrong and what is allowed. Reads the password and CA files
 * (never the network), as the poller does at start.
 */
import { VpmdError, type PluginConfigProblem } from 'vpmd';
import {
  redfishPollProblem,
  redfishTargetProblems,
  resolveRedfishTarget,
  type PollConfig,
  type RedfishTargetConfig,
} from './config.js';

/** The section as the poller reads it. */
export interface PollerSectionInput {
  readonly targets: readonly RedfishTargetConfig[];
  readonly poll: PollConfig;
}

/** Every problem of the poller's targets and poll settings (cross-field, then files per target). */
export async function redfishPollerProblems(cfg: PollerSectionInput): Promise<PluginConfigProblem[]> {
  const crossField = redfishTargetProblems(cfg);
  const out: PluginConfigProblem[] = crossField.map((p) => ({
    path: `targets[${p.index}].${p.field}`,
    message: `target ${p.target}: ${p.problem}`,
  }));
  const poll = redfishPollProblem(cfg);
  if (poll !== undefined) out.push({ path: `poll.${poll.field}`, message: poll.problem });
  // A target with a cross-field problem is not read further: its files may be the wrong ones anyway.
  const bad = new Set(crossField.map((p) => p.index));
  for (const [index, t] of cfg.targets.entries()) {
    if (bad.has(index)) continue;
    try {
      await resolveRedfishTarget(cfg.poll, t);
    } catch (e) {
      if (!(e instanceof VpmdError) || e.code !== 'E_REDFISH_CONFIG') throw e;
      const field = typeof e.details.field === 'string' ? e.details.field : 'passwordFile';
      const problem = typeof e.details.problem === 'string' ? e.details.problem : e.message;
      out.push({ path: `targets[${index}].${field}`, message: `target ${t.name}: ${problem}` });
    }
  }
  return out;
}
