/**
 * The entries of a LogService (the audit log and the hardware log share this): the
 * `LogEntryCollection` and each `LogEntry`. The schema marks `Members` of a LogEntryCollection
 * `OData.AutoExpand`, so the collection carries every entry in full (`@odata.type`, `Id`, `Name`,
 * `EntryType`, ...), not links; a client pages with `$top`/`$skip`.
 */
import type { Route } from '../http/router.js';
import { notFound } from './service-root.js';

/** An entry numbered from 1 in its log. */
export interface NumberedEntry {
  readonly n: number;
}

/** What a log gives the builder. */
export interface LogEntriesSource<E extends NumberedEntry> {
  /** The LogService URI (`.../LogServices/AuditLog`). */
  readonly service: string;
  /** The collection's Name. */
  readonly name: string;
  /** Entries, oldest first. */
  readonly list: () => readonly E[] | Promise<readonly E[]>;
  /** The LogEntry body of one entry (its URI is `${service}/Entries/${n}`). */
  readonly body: (e: E, uri: string) => Record<string, unknown>;
}

/** Routes of `${service}/Entries` and `${service}/Entries/{n}`. */
export function logEntriesRoutes<E extends NumberedEntry>(src: LogEntriesSource<E>): Route[] {
  const entries = `${src.service}/Entries`;
  return [
    {
      pattern: entries,
      entity: 'LogEntryCollection',
      get: async () => {
        const members = (await src.list()).map((e) => src.body(e, `${entries}/${e.n}`));
        return {
          '@odata.id': entries,
          '@odata.type': '#LogEntryCollection.LogEntryCollection',
          Name: src.name,
          Members: members,
          'Members@odata.count': members.length,
        };
      },
    },
    {
      pattern: `${entries}/{n}`,
      entity: 'LogEntry',
      get: async (req) => {
        const e = (await src.list()).find((x) => String(x.n) === req.params.n);
        if (!e) throw notFound('LogEntry', req.params.n ?? '');
        return src.body(e, `${entries}/${e.n}`);
      },
    },
  ];
}
