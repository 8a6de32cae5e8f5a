/**
 * Reading back what a python-dbusmock object recorded (`GetCalls` / `GetMethodCalls` on
 * `org.freedesktop.DBus.Mock`), shared by every dbusmock-based peer in the test kit.
 */
import { Variant } from 'dbus-next';

/** One call the mock recorded. Arguments as decoded: `t` flags arrive as BigInt. */
export interface MockCall {
  readonly method: string;
  readonly args: readonly unknown[];
  /** Seconds since the epoch, as the mock logged it. */
  readonly timestamp: number;
}

/** A call on the mock's control interface: member, then signature and body when it takes any. */
export type MockControl = (member: string, signature?: string, body?: unknown[]) => Promise<unknown[]>;

function plainArgs(args: unknown[]): unknown[] {
  return args.map((a) => (a instanceof Variant ? (a.value as unknown) : a));
}

/** Every recorded call, or only those of `method`, oldest first. */
export async function readMockCalls(mock: MockControl, method?: string): Promise<MockCall[]> {
  if (method === undefined) {
    const [rows] = await mock('GetCalls');
    return (rows as [bigint, string, unknown[]][]).map(([ts, name, args]) => ({
      method: name,
      args: plainArgs(args),
      timestamp: Number(ts),
    }));
  }
  const [rows] = await mock('GetMethodCalls', 's', [method]);
  return (rows as [bigint, unknown[]][]).map(([ts, args]) => ({
    method,
    args: plainArgs(args),
    timestamp: Number(ts),
  }));
}
