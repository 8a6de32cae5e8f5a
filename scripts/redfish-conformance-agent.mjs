#!/usr/bin/env node
// The agent DMTF's Redfish validators are run against (scripts/redfish-conformance.sh starts it):
// exactly `vpmd --demo` (every plugin with a demo setup on, a simulated host), plus, with --bmc,
// an ipmi_sim BMC polled by the ipmi plugin, so the hardware log holds its SEL entries, and
// marked as the host's own BMC (hostBmc), so Systems/host serves LocationIndicatorActive, Boot,
// the BMC ResetTypes and LogServices/SEL as well. It adds
// one account per Redfish role and prints one JSON line on stdout once the service answers:
//   {"url":"https://127.0.0.1:PORT","accounts":{"Administrator":{"user","password"},...},
//    "auditEntries":N,"hardwareEntries":N}
// With --host-power, hostPower.busAddress names a private D-Bus with python-dbusmock's logind and
// systemd manager (PowerOff() and Reboot() added), so GracefulShutdown, GracefulRestart, ForceOff
// and ForceRestart are offered and done against the mocks, never this machine; on SIGUSR2 it
// writes the calls the mocks received so far to DIR/host-power-calls.json
// ({"logind":[{method,args},..],"systemd":[..]}; written whole, then renamed).
// It runs until SIGTERM/SIGINT. Needs `npm run build` (it runs dist/, as `vpmd --demo` does).
// usage: node scripts/redfish-conformance-agent.mjs --dir DIR [--bmc] [--host-power]
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';

// The bundle's entries (scripts/bundle.mjs), not tsc's separate files: one core for all.
const dist = new URL('../dist/', import.meta.url);
const { prepareDemo, runAgentUntilSignal, BUILTIN_PLUGINS, readConfigFile, assertNoProblems, ControlClient } =
  await import(new URL('app/vpmd-tooling.js', dist).href);
const { startIpmiSim, startPrivateBus, startLogindMock, startSystemdMock } = await import(
  new URL('app/vpmd-testkit.js', dist).href
);

const { values } = parseArgs({
  options: { dir: { type: 'string' }, bmc: { type: 'boolean' }, 'host-power': { type: 'boolean' } },
});
if (!values.dir) {
  process.stderr.write('usage: redfish-conformance-agent.mjs --dir DIR [--bmc] [--host-power]\n');
  process.exit(2);
}

/** A password any policy accepts: long, random, every character class. */
// A leading letter: the validators' argparse reads a password that starts with '-' as an option.
const password = () => `p${randomBytes(15).toString('base64url')}aA1!`;

/** GET of a Redfish URI with Basic authentication; resolves the parsed body (or undefined). */
function get(url, user, pass) {
  return new Promise((resolve) => {
    const req = request(url, { rejectUnauthorized: false, auth: `${user}:${pass}`, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? JSON.parse(text) : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** PATCH of a Redfish URI with Basic authentication; resolves the HTTP status (0 on error). */
function patch(url, user, pass, body) {
  return new Promise((resolve) => {
    const data = JSON.stringify(body);
    const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) };
    const req = request(
      url,
      { method: 'PATCH', rejectUnauthorized: false, auth: `${user}:${pass}`, timeout: 10000, headers },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end(data);
  });
}

/** Polls `probe` until it yields a value (180 s at most: ipmi_sim on a busy machine is slow). */
async function waitFor(what, probe) {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const demo = await prepareDemo({ dir: values.dir });
let sim;
let bus;
let mocks;
if (values.bmc || values['host-power']) {
  const doc = parse(await readFile(demo.configFile, 'utf8'));
  if (values.bmc) {
    sim = await startIpmiSim({ bmcs: 1 });
    const t = sim.targets[0];
    doc.plugins.ipmi = {
      ...(doc.plugins.ipmi ?? {}),
      interval: 2,
      targets: [
        { name: t.name, host: t.host, port: t.port, username: t.username, password: t.password, hostBmc: true },
      ],
    };
  }
  if (values['host-power']) {
    bus = await startPrivateBus();
    mocks = { logind: await startLogindMock(bus), systemd: await startSystemdMock(bus) };
    await mocks.systemd.addPowerOff();
    await mocks.systemd.addReboot();
    doc.hostPower = { ...(doc.hostPower ?? {}), busAddress: bus.address };
    // The test kit stops the mocks at SIGTERM, before any exit code could read them: on demand.
    process.on('SIGUSR2', async () => {
      const calls = { logind: await mocks.logind.calls(), systemd: await mocks.systemd.calls() };
      const file = `${demo.dir}/host-power-calls.json`;
      await writeFile(`${file}.tmp`, `${JSON.stringify(calls)}\n`);
      await rename(`${file}.tmp`, file);
    });
  }
  await writeFile(demo.configFile, stringify(doc), { mode: 0o600 });
}
const parsed = await readConfigFile(demo.configFile);
assertNoProblems(demo.configFile, parsed.problems);
const redfish = demo.setups.get('redfish');
const url = `https://127.0.0.1:${redfish.config.port}`;
const accounts = { Administrator: { user: 'admin', password: redfish.commands[0].stdin[0] } };

const code = await runAgentUntilSignal(parsed.config, demo.configFile, BUILTIN_PLUGINS, {
  logFile: `${demo.dir}/vpmd.log`,
  onStarted: async () => {
    const run = async (argv, stdin) => {
      const client = await ControlClient.connect(parsed.config.control.socket);
      const r = await client.run(argv, stdin ? { stdin } : {});
      client.close();
      if (r.type === 'error') throw new Error(`'${argv.join(' ')}': ${r.error.message}`);
    };
    for (const setup of demo.setups.values()) for (const c of setup.commands ?? []) await run(c.argv, c.stdin);
    for (const [role, user] of [
      ['Operator', 'operator'],
      ['ReadOnly', 'readonly'],
    ]) {
      const pass = password();
      await run(['account', 'add', user, '--role', role], [pass]);
      accounts[role] = { user, password: pass };
    }
    const { user, password: pass } = accounts.Administrator;
    const count = async (log) =>
      (await get(`${url}/redfish/v1/Managers/vpmd/LogServices/${log}/Entries`, user, pass))?.['Members@odata.count'];
    const hardwareEntries = values.bmc
      ? await waitFor('hardware log entries from the ipmi_sim SEL', async () => {
          const n = await count('HardwareLog');
          return n > 0 ? n : undefined;
        })
      : await count('HardwareLog');
    // The demo's Redfish poller reads its own service as BMC "self": wait for its first sweep, so
    // every run of the validators walks the same tree (the first one saw an empty Sensors).
    const chassis = (await get(`${url}/redfish/v1/Chassis`, user, pass))?.Members ?? [];
    if (chassis.some((m) => m['@odata.id'].endsWith('/bmc-self')))
      await waitFor('the demo poller\'s first reading of BMC "self"', async () => {
        const sensors = await get(`${url}/redfish/v1/Chassis/bmc-self/Sensors`, user, pass);
        return sensors?.['Members@odata.count'] > 0 ? true : undefined;
      });
    if (values.bmc) {
      // ipmi_sim does not report the identify light in Get Chassis Status, so until someone sets
      // it LocationIndicatorActive is null (unknown); an operator switching it off makes it known.
      const status = await patch(`${url}/redfish/v1/Systems/host`, user, pass, { LocationIndicatorActive: false });
      if (status !== 200) throw new Error(`PATCH LocationIndicatorActive answered ${status}`);
    }
    process.stdout.write(
      `${JSON.stringify({ url, accounts, auditEntries: await count('AuditLog'), hardwareEntries })}\n`,
    );
  },
});
await sim?.stop();
await bus?.stop();
process.exit(code);
