/**
 * The poller's ETag memory of one BMC is bounded: a BMC whose log is read page by page must not
 * leave a kept reply per page for the agent's lifetime, while the URIs a poll re-reads keep
 * answering 304 Not Modified.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BmcSession, ETAG_PATHS_KEPT } from '../../../plugins/redfish/poller/session.js';
import { startFaultBmc, type FaultBmc } from './fault-bmc.js';

const ENTRIES = '/redfish/v1/Managers/1/LogServices/Log/Entries';
const page = (n: number): string => `${ENTRIES}?$skip=${n}`;

describe('Redfish poller ETag memory', () => {
  let bmc: FaultBmc;
  let session: BmcSession;

  beforeAll(async () => {
    bmc = await startFaultBmc({ logPageSize: 1 });
    for (let i = 0; i <= ETAG_PATHS_KEPT + 1; i++) bmc.addLogEntry(`entry ${i}`, 'OK');
    const { port } = new URL(bmc.url);
    session = new BmcSession(
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
