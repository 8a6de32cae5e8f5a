/**
 * What survives a restart of the agent on the same state directory: accounts (and their
 * lockout settings), session-service settings, event subscriptions and the TLS certificate.
 * Sessions do not: their tokens are refused after the restart.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bootRedfish } from './support.js';

const stateDir = await mkdtemp(join(tmpdir(), 'rf-restart-'));
afterAll(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

describe('redfish across a restart', () => {
  it('keeps accounts, settings, subscriptions and the certificate; drops sessions', async () => {
    const core = { state: { dir: stateDir } };
    const first = await bootRedfish({ core });
    let token: string;
    let sub: string;
    let ca: string;
    try {
      await first.addAccount('admin', 'Administrator', 'Admin-pass-1');
      token = await first.login('admin', 'Admin-pass-1');
      expect(
        (await first.rf('PATCH', '/redfish/v1/SessionService', { token, body: { SessionTimeout: 120 } })).status,
      ).toBe(200);
      expect(
        (await first.rf('PATCH', '/redfish/v1/AccountService', { token, body: { AccountLockoutThreshold: 7 } })).status,
      ).toBe(200);
      const r = await first.rf('POST', '/redfish/v1/EventService/Subscriptions', {
        token,
        body: { Destination: 'https://192.0.2.1/events', Protocol: 'Redfish', Context: 'keep' },
      });
      sub = String(r.headers.location);
      ca = first.ca;
    } finally {
      await first.stop();
    }
    const second = await bootRedfish({ core });
    try {
      expect(second.ca).toBe(ca);
      expect((await second.rf('GET', '/redfish/v1/Systems', { token })).status).toBe(401);
      const again = await second.login('admin', 'Admin-pass-1');
      expect((await second.rf('GET', '/redfish/v1/SessionService', { token: again })).json.SessionTimeout).toBe(120);
      expect(
        (await second.rf('GET', '/redfish/v1/AccountService', { token: again })).json.AccountLockoutThreshold,
      ).toBe(7);
      const kept = await second.rf('GET', sub, { token: again });
      expect(kept.status).toBe(200);
      expect(kept.json).toMatchObject({
        Destination: 'https://192.0.2.1/events',
        Context: 'keep',
        SubscriptionType: 'RedfishEvent',
      });
    } finally {
      await second.stop();
    }
  });
});
