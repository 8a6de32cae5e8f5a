/**
 * Reading the audit trail: provided by the core itself (`audit-log@1`), so a plugin that serves
 * the trail (Redfish's audit LogService) reads the one ring the core keeps, with ids that stay
 * the same across restarts, instead of a copy of its own.
 */
import { defineCapability } from '../kernel/capabilities.js';
import type { VpmdEventMap } from './events.js';

/** One audit entry as recorded, with its id: 1, 2, 3... in order, kept across restarts. */
export type AuditRecord = VpmdEventMap['audit.v1'] & { readonly id: number };

/** One page of the kept entries. */
export interface AuditPage {
  /** How many entries are kept now (the newest, at most the ring's size). */
  readonly total: number;
  /** The page, oldest first. */
  readonly entries: readonly AuditRecord[];
}

/** Read access to the audit trail. Who may read it is the serving plugin's check. */
export interface AuditLogReader {
  /** Kept entries oldest first: `skip` of them left out, then at most `top` (default: all). */
  page(opts?: { readonly skip?: number; readonly top?: number }): AuditPage;
  /** The kept entry with this id, or undefined (never recorded, or gone out of the ring). */
  get(id: number): AuditRecord | undefined;
}

/** Token of {@link AuditLogReader}. */
export const AUDIT_LOG = defineCapability<AuditLogReader>('audit-log@1');
