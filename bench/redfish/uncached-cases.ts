/**
 * The two cases of the uncached Redfish benchmark (a poller that misses the response cache),
 * shared by uncached.ts (agent against nginx and the Node floor) and profile.ts (the agent alone
 * under `node --cpu-prof`): the URIs each case cycles through, and wrk's script for them.
 */
import { request } from 'node:https';
import { WRK_REPORT } from './wrk.js';

/** A reply as the benchmark keeps it (the headers the floor replays). */
export interface Got {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string>;
}

const KEPT_HEADERS = ['odata-version', 'cache-control', 'x-frame-options', 'content-type', 'etag', 'link', 'allow'];

/** One GET with the agent's token, trusting its certificate. */
export function get(port: number, ca: string, token: string, uri: string): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: uri, ca, headers: { 'X-Auth-Token': token }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: Object.fromEntries(
              KEPT_HEADERS.filter((k) => res.headers[k] !== undefined).map((k) => [k, String(res.headers[k])]),
            ),
          });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The member URIs of a collection. */
async function members(g: (uri: string) => Promise<Got>, uri: string): Promise<string[]> {
  const r = await g(uri);
  return (JSON.parse(r.body) as { Members: Array<{ '@odata.id': string }> }).Members.map((m) => m['@odata.id']);
}

/**
 * `walk`: every system resource and every Sensor of the host chassis, in turn; `expand`: the
 * whole sensor collection in one request.
 */
export async function uncachedCases(g: (uri: string) => Promise<Got>): Promise<{ walk: string[]; expand: string[] }> {
  const system = '/redfish/v1/Systems/host';
  const walk = [
    '/redfish/v1/Systems',
    system,
    `${system}/Processors`,
    ...(await members(g, `${system}/Processors`)),
    `${system}/ResetActionInfo`,
    ...(await members(g, '/redfish/v1/Chassis/host/Sensors')),
  ];
  return { walk, expand: ['/redfish/v1/Chassis/host/Sensors?$expand=.'] };
}

/** wrk script cycling through `paths`, each connection's requests taking the next one. */
export function cycleScript(paths: readonly string[]): string {
  return `local paths = { ${paths.map((p) => JSON.stringify(p)).join(', ')} }
local i = 0
request = function()
  i = (i % #paths) + 1
  return wrk.format(nil, paths[i])
end
${WRK_REPORT}`;
}
