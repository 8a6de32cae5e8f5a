/**
 * The floor of Node's own TLS stack, for the Redfish benchmark: a bare `node:https` server that
 * answers every request with the same bytes and headers the agent sent for that URI, doing no
 * other work. Like the agent, it writes the replies of one event-loop turn together (one wake-up
 * of the client per burst). What the agent loses against it is the cost of being a Redfish
 * service; what this loses against nginx is the cost of Node's HTTP and TLS on this machine.
 *
 * Usage (by bench/redfish/run.ts): node-floor.ts CERT KEY FILES_JSON; prints the port.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const [certFile, keyFile, filesJson] = process.argv.slice(2);
if (!certFile || !keyFile || !filesJson) throw new Error('usage: node-floor.ts CERT KEY FILES_JSON');
const files = JSON.parse(readFileSync(filesJson, 'utf8')) as Record<
  string,
  { body: string; headers: Record<string, string> }
>;
const replies = new Map(
  Object.entries(files).map(([uri, f]) => [
    uri,
    { headers: { ...f.headers, 'Content-Length': String(Buffer.byteLength(f.body)) }, body: f.body },
  ]),
);
const burst: Array<() => void> = [];
const flush = (): void => {
  for (const write of burst.splice(0)) write();
};
const server = createServer(
  {
    cert: readFileSync(certFile),
    key: readFileSync(keyFile),
    minVersion: 'TLSv1.2',
    keepAliveTimeout: 30_000,
    noDelay: true,
  },
  (req, res) => {
    const f = replies.get(req.url ?? '');
    if (burst.length === 0) setImmediate(flush);
    burst.push(f ? () => res.writeHead(200, f.headers).end(f.body) : () => res.writeHead(404).end());
  },
);
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`${typeof a === 'object' && a ? a.port : 0}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
