#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=1 --heap-growing-percent=50
/**
 * vpmd: the agent. `vpmd --config FILE` runs it; `vpmd --demo` runs it on a freshly generated
 * simulated host; `vpmd check-config FILE` validates a configuration; `vpmd doctor` lists what this
 * host offers.
 *
 * The interpreter line sets what start-up and load showed (issue 21; bench/soak). V8's young
 * generation is capped at 1 MiB semi-spaces: left alone it grows to 16 MiB each during start-up
 * (schema compilation, module loading) and keeps 32 MiB of RSS for a live heap of about 25 MiB.
 * glibc's mmap threshold is fixed at 128 KiB: each scrypt (Redfish password checks, 16 MiB in a
 * libuv worker thread) otherwise raised it and left its 16 MiB in that thread's arena, 64 MiB
 * for the four threads, never returned. The old generation may grow to 1.5x what the last full
 * GC kept (--heap-growing-percent=50) instead of up to 4x: with 1,000 BMCs polled back to back,
 * a live heap of about 48 MiB otherwise grew to 195 MiB before each full GC, and the agent's RSS
 * settled at about 300 MiB (bench/ipmi/agent-memory.ts, docs/ipmi.md). These apply when vpmd runs as a program (`vpmd`, the
 * systemd unit); `node dist/app/vpmd.js` runs without them.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { EXIT_CODES, exitCodeFor, toVpmdError } from '../core/errors.js';
import { readConfigFile, formatProblems } from '../core/config/load-config.js';
import { checkConfiguration } from '../core/agent.js';
import { BUILTIN_PLUGINS } from './builtin-plugins.js';
import { VPMD_VERSION } from '../core/version.js';
import { runAgentUntilSignal } from './run-agent.js';
import { runDemo } from './demo.js';
import { doctorCommand } from './doctor/doctor.js';

const USAGE = `Usage: vpmd --config FILE               run the agent
       vpmd --demo [--profile NAME] [--dir DIR] [--redfish-bmc URL]
                                        run the agent on a generated simulated host
                                        (it polls its own Redfish service, or the BMC at URL)
       vpmd check-config FILE           validate a configuration file (exit 0 valid, 1 problems)
       vpmd doctor [--config FILE] [--root DIR] [--json]
                                        list each power facility of this host: found, degraded
                                        or missing, why, and the fix (exit 0 when nothing the
                                        configuration needs is missing, 1 when something is)
       vpmd --list-profiles             list the simulated host profiles
       vpmd --version | --help

Logs are JSON lines on standard error (the demo writes them to DIR/vpmd.log).
`;

async function checkConfig(file: string): Promise<number> {
  let parsed;
  try {
    parsed = await readConfigFile(file);
  } catch (e) {
    // A file that cannot be read is a problem with the configuration: exit 1, as for any other.
    process.stderr.write(`${toVpmdError(e).message}\n${file}: 1 problem(s)\n`);
    return 1;
  }
  const { problems } = await checkConfiguration(parsed.config, file, BUILTIN_PLUGINS, { pluginChecks: true });
  const all = [
    ...parsed.problems,
    ...problems.map((p) => ({
      ...p,
      ...(p.line === undefined && parsed.lineOf(p.path) !== undefined ? { line: parsed.lineOf(p.path) } : {}),
    })),
  ];
  if (all.length > 0) {
    process.stderr.write(`${formatProblems(file, all)}\n${file}: ${all.length} problem(s)\n`);
    return 1;
  }
  process.stdout.write(`${file}: valid\n`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        demo: { type: 'boolean' },
        profile: { type: 'string' },
        dir: { type: 'string' },
        'redfish-bmc': { type: 'string' },
        'list-profiles': { type: 'boolean' },
        json: { type: 'boolean' },
        root: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
    });
  } catch (e) {
    process.stderr.write(`vpmd: ${(e as Error).message}\n\n${USAGE}`);
    return EXIT_CODES.usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`vpmd ${VPMD_VERSION}\n`);
    return 0;
  }
  if (values['list-profiles']) {
    const { SIM_PROFILES } = await import('../core/sim/index.js');
    for (const p of SIM_PROFILES) process.stdout.write(`${p.name.padEnd(26)} ${p.description}\n`);
    return 0;
  }
  if (positionals[0] === 'check-config') {
    if (positionals.length !== 2) {
      process.stderr.write(`vpmd: check-config takes one FILE\n\n${USAGE}`);
      return EXIT_CODES.usage;
    }
    return checkConfig(positionals[1] as string);
  }
  if (positionals[0] === 'doctor') {
    if (positionals.length !== 1) {
      process.stderr.write(`vpmd: doctor takes no arguments besides its options\n\n${USAGE}`);
      return EXIT_CODES.usage;
    }
    return doctorCommand({
      json: values.json === true,
      ...(values.config === undefined ? {} : { config: values.config }),
      ...(values.root === undefined ? {} : { root: values.root }),
    });
  }
  if (positionals.length > 0) {
    process.stderr.write(`vpmd: unknown command '${positionals[0]}'\n\n${USAGE}`);
    return EXIT_CODES.usage;
  }
  if (values.demo)
    return runDemo({
      ...(values.profile ? { profile: values.profile } : {}),
      ...(values.dir ? { dir: values.dir } : {}),
      ...(values['redfish-bmc'] ? { redfishBmc: values['redfish-bmc'] } : {}),
    });
  if (!values.config) {
    process.stderr.write(`vpmd: give --config FILE (or --demo)\n\n${USAGE}`);
    return EXIT_CODES.usage;
  }
  const file = resolve(values.config);
  const cfg = await readConfigFile(file);
  if (cfg.problems.length > 0) {
    process.stderr.write(`${formatProblems(file, cfg.problems)}\n`);
    return EXIT_CODES.invalid;
  }
  return runAgentUntilSignal(cfg.config, file, BUILTIN_PLUGINS);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const err = toVpmdError(e);
    process.stderr.write(`vpmd: ${err.message}\n`);
    process.exitCode = exitCodeFor(err);
  },
);
