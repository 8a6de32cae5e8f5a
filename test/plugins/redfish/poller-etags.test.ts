/**
 * The poller's ETag memory of one BMC is bounded: a BMC whose log is read page by page must not
 * leave a kept reply per page for the agent's lifetime, while the URIs a poll re-reads keep
 * answering 304 Not Modified.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BmcSession,
  ETAG_PATHS_KEPT,
  ETAG_TEXT_KEPT,
  ETAG_TEXT_KEPT_PER_REPLY,
} from '../../../plugins/redfish/poller/session.js';
import { startFaultBmc, type FaultBmc } from './fault-bmc.js';

const ENTRIES = '/redfish/v1/Managers/1/LogServices/Log/Entries';
const page = (n: number): string => `${ENTRIES}?$skip=${n}`;

const sessionOf = (bmc: FaultBmc): BmcSession => {
  const { port } = new URL(bmc.url);
  return new BmcSession(
    {
      name: 'paged',
      origin: bmc.url,
      host: '127.0.0.1',
      port: Number(port),
      username: 'poller',
      password: 'secret',
      trust: { kind: 'plain' },
      intervalMs: 1000,
      events: false,
    },
    { timeoutMs: 10_000, retries: 0, requestsPerBmc: 4 },
  );
};

describe('Redfish poller ETag memory', () => {
  let bmc: FaultBmc;
  let session: BmcSession;

  beforeAll(async () => {
    bmc = await startFaultBmc({ logPageSize: 1 });
    for (let i = 0; i <= ETAG_PATHS_KEPT + 1; i++) bmc.addLogEntry(`entry ${i}`, 'OK');
    session = sessionOf(bmc);
  });
  afterAll(async () => {
    await session.close();
    await bmc.vanish();
  });

  it('keeps the recently read URIs and forgets the least recently read beyond the bound', async () => {
    await session.get(page(0));
    await session.get(page(1));
    // Page 0 read again: it is now the most recently read, page 1 the oldest.
    await session.get(page(0));
    expect(bmc.notModified).toBe(1);
    for (let n = 2; n < ETAG_PATHS_KEPT + 1; n++) await session.get(page(n));
    // 512 URIs read since page 1; with page 0 that is one more than kept: page 1 is forgotten.
    const before = bmc.notModified;
    await session.get(page(0));
    expect(bmc.notModified).toBe(before + 1);
    await session.get(page(1));
    expect(bmc.notModified).toBe(before + 1);
    expect(bmc.requests.filter((r) => r === `GET ${ENTRIES}`)).toHaveLength(ETAG_PATHS_KEPT + 4);
  });
});

describe('Redfish poller ETag memory, by size', () => {
  let bmc: FaultBmc;
  let session: BmcSession;
  // One entry per page (page 0 is the fault BMC's own first entry): a page's reply is about as
  // long as its entry's message.
  const big = 'x'.repeat(ETAG_TEXT_KEPT_PER_REPLY + 1);
  const large = 'y'.repeat(Math.floor(ETAG_TEXT_KEPT / 5.5));

  beforeAll(async () => {
    bmc = await startFaultBmc({ logPageSize: 1 });
    bmc.addLogEntry(big, 'OK');
    for (let i = 0; i < 6; i++) bmc.addLogEntry(large, 'OK');
    session = sessionOf(bmc);
  });
  afterAll(async () => {
    await session.close();
    await bmc.vanish();
  });

  it('does not keep a reply over the per-reply bound', async () => {
    const before = bmc.notModified;
    expect(JSON.stringify(await session.get(page(1)))).toContain(big);
    await session.get(page(1));
    expect(bmc.notModified).toBe(before);
  });

  it('forgets the least recently read once the kept text passes its bound, far below the path bound', async () => {
    for (let n = 2; n <= 7; n++) await session.get(page(n));
    // Six replies of ETAG_TEXT_KEPT / 5.5 each: the sixth pushed the first out.
    const before = bmc.notModified;
    await session.get(page(7));
    expect(bmc.notModified).toBe(before + 1);
    await session.get(page(2));
    expect(bmc.notModified).toBe(before + 1);
  });
});
