/**
 * The response cache of shared resources and the reply bursts of the transport, as a client sees
 * them: a polled resource is served again only until something changes (a write through Redfish,
 * any core event) or `responseCacheMs` passes; authentication is still checked on every request;
 * HEAD, If-None-Match and pipelined requests keep their meaning.
 */
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Type, defineCommand } from '../../../core/index.js';
import { testPlugin } from '../../../testkit/index.js';
import { ResponseCache } from '../../../plugins/redfish/http/response-cache.js';
import { bootRedfish, type RedfishHarness } from './support.js';

const METRIC = 'bmc-feed/bmc7/inlet-temp';
const SENSOR = '/redfish/v1/Chassis/bmc-bmc7/Sensors/bmc-feed_bmc7_inlet-temp';

/**
 * Records readings as a poller does: a `Login` command, which the core does not audit, so the
 * reading arrives without any event, like a sample from a poll.
 */
const feed = testPlugin({
  name: 'bmc-feed',
  description: 'test: records BMC readings on command, without events',
  register(ctx) {
    ctx.commands.register(
      defineCommand({
        name: 'feed reading',
        summary: 'record a reading of the test metric',
        privilege: 'Login',
        args: Type.Object({ value: Type.Number() }),
        positional: ['value'],
        handler: (a) => ctx.telemetry.record(METRIC, a.value),
      }),
    );
    return {
      start() {
        ctx.telemetry.define({
          id: METRIC,
          name: 'BMC bmc7 Inlet Temp',
          kind: 'temperature',
          unit: 'Cel',
          source: { plugin: 'bmc-feed', target: 'bmc7', sensor: 'Inlet Temp' },
        });
      },
      stop() {},
    };
  },
});

describe('ResponseCache', () => {
  const reply = (body: string): { status: number; headers: Record<string, string>; body: string } => ({
    status: 200,
    headers: {},
    body,
  });

  it('serves a reply until the next change or until it is maxAge old, whichever comes first', () => {
    let now = 1000;
    const c = new ResponseCache(250, 8, () => now);
    c.put('/a', reply('1'), c.begin());
    now += 249;
    expect(c.get('/a')?.body).toBe('1');
    now += 1;
    expect(c.get('/a')).toBeUndefined();
    c.put('/a', reply('2'), c.begin());
    c.invalidate();
    expect(c.get('/a')).toBeUndefined();
  });

  it('drops a reply whose data was read before a change that happened while it was built', () => {
    let now = 0;
    const c = new ResponseCache(1000, 8, () => now);
    const stamp = c.begin();
    c.invalidate(); // a PATCH finished while the GET was reading
    c.put('/a', reply('old'), stamp);
    expect(c.get('/a')).toBeUndefined();
    // Its age counts from when the reading started, not from when it was stored.
    const early = c.begin();
    now = 900;
    c.put('/b', reply('b'), early);
    now = 1000;
    expect(c.get('/b')).toBeUndefined();
  });

  it('keeps at most `size` paths, dropping the oldest, and keeps nothing when maxAge is 0', () => {
    const c = new ResponseCache(1000, 2);
    for (const p of ['/a', '/b', '/c']) c.put(p, reply(p), c.begin());
    expect([c.get('/a'), c.get('/b')?.body, c.get('/c')?.body]).toEqual([undefined, '/b', '/c']);
    const off = new ResponseCache(0);
    off.put('/a', reply('x'), off.begin());
    expect(off.enabled).toBe(false);
    expect(off.get('/a')).toBeUndefined();
  });
});

describe('redfish response cache (long responseCacheMs, so only changes refresh)', () => {
  let h: RedfishHarness;
  let admin: string;
  const reading = async (): Promise<number> => (await h.rf('GET', SENSOR, { token: admin })).json.Reading;

  beforeAll(async () => {
    h = await bootRedfish({ plugins: [feed], sections: { responseCacheMs: 10_000 } });
    await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
    admin = await h.login('admin', 'Admin-pass-1');
  }, 60_000);
  afterAll(async () => h?.stop());

  it('serves a polled sensor again until a write through Redfish or a core event, then the fresh value', async () => {
    await h.agent.json(['feed', 'reading', '20']);
    // The audited account commands above and this login retired anything cached before.
    expect(await reading()).toBe(20);
    await h.agent.json(['feed', 'reading', '21']);
    expect(await reading()).toBe(20);
    // A write through Redfish (here one that changes nothing but is still a PATCH).
    const timeout = (await h.rf('GET', '/redfish/v1/SessionService', { token: admin })).json.SessionTimeout;
    expect(
      (await h.rf('PATCH', '/redfish/v1/SessionService', { token: admin, body: { SessionTimeout: timeout } })).status,
    ).toBe(200);
    expect(await reading()).toBe(21);
    await h.agent.json(['feed', 'reading', '22']);
    expect(await reading()).toBe(21);
    // A core event: an audited command (a refused one is audited too).
    await h.agent.run(['account', 'unlock', 'nobody-such']);
    expect(await reading()).toBe(22);
  });

  it('still authenticates every request to a cached resource', async () => {
    expect((await h.rf('GET', SENSOR, { token: admin })).status).toBe(200);
    const nobody = await h.rf('GET', SENSOR);
    expect(nobody.status).toBe(401);
    expect(nobody.text).not.toContain('Reading');
    expect((await h.rf('GET', SENSOR, { token: 'not-a-token' })).status).toBe(401);
  });

  it('answers HEAD without a body and If-None-Match with 304 from the cached reply', async () => {
    const get = await h.rf('GET', SENSOR, { token: admin });
    const head = await h.rf('HEAD', SENSOR, { token: admin });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(head.headers.etag).toBe(get.headers.etag);
    expect(Number(head.headers['content-length'])).toBe(Buffer.byteLength(get.text));
    const again = await h.rf('GET', SENSOR, { token: admin, headers: { 'If-None-Match': String(get.headers.etag) } });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    // The cached reply itself was not changed by either.
    expect((await h.rf('GET', SENSOR, { token: admin })).text).toBe(get.text);
  });

  it('answers pipelined requests on one connection in order, each with its own reply', async () => {
    const paths = [SENSOR, '/redfish/v1/Systems/host', '/redfish/v1/NoSuchThing', SENSOR];
    const raw = await new Promise<string>((resolve, reject) => {
      const s = connect(
        { host: '127.0.0.1', port: h.port, ca: h.ca, servername: 'localhost', checkServerIdentity: () => undefined },
        () => {
          s.write(paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: localhost\r\nX-Auth-Token: ${admin}\r\n\r\n`).join(''));
        },
      );
      let text = '';
      s.on('data', (d: Buffer) => {
        text += d.toString();
        if ((text.match(/HTTP\/1\.1 /g) ?? []).length === paths.length && text.trimEnd().endsWith('}')) {
          s.end();
          resolve(text);
        }
      });
      s.on('error', reject);
      setTimeout(() => reject(new Error(`incomplete pipelined replies: ${text}`)), 10_000).unref();
    });
    const statuses = [...raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    expect(statuses).toEqual([200, 200, 404, 200]);
    const ids = [...raw.matchAll(/"@odata\.id":"([^"]+)"/g)]
      .map((m) => m[1])
      .filter((id) => id === SENSOR || id === '/redfish/v1/Systems/host');
    expect(ids).toEqual([SENSOR, '/redfish/v1/Systems/host', SENSOR]);
  });
});

describe('redfish response cache off (responseCacheMs: 0)', () => {
  let h: RedfishHarness;
  afterAll(async () => h?.stop());

  it('builds every reply: each GET shows the latest reading', async () => {
    h = await bootRedfish({ plugins: [feed], sections: { responseCacheMs: 0 } });
    await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
    const admin = await h.login('admin', 'Admin-pass-1');
    for (const v of [30, 31, 32]) {
      await h.agent.json(['feed', 'reading', String(v)]);
      expect((await h.rf('GET', SENSOR, { token: admin })).json.Reading).toBe(v);
    }
  }, 60_000);
});
