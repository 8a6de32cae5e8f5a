/**
 * The one place where "who may do what, from where" is decided. Every surface (control socket,
 * Redfish, SNMP, guest channels) asks the same policy, and every decision on a privileged action
 * lands in the audit trail as an `audit.v1` event.
 */
import { VpmdError } from '../errors.js';
import type { VpmdEventMap } from '../contracts/events.js';
import { AddressAllowList, resolveBindAddress } from './address-list.js';
import { roleHas, type Principal, type Privilege } from './privileges.js';

/** Settings of the policy, from the `management` config section. */
export interface AccessPolicyOptions {
  readonly address?: string;
  readonly interface?: string;
  readonly allow: readonly string[];
  readonly audit?: (entry: VpmdEventMap['audit.v1']) => void;
  readonly now?: () => number;
}

/** Access decisions for the whole agent. */
export class AccessPolicy {
  private readonly allowList: AddressAllowList;
  private bind: string | undefined;

  constructor(private readonly opts: AccessPolicyOptions) {
    this.allowList = new AddressAllowList(opts.allow);
  }

  /** The CIDRs peers must come from. */
  get allow(): readonly string[] {
    return this.allowList.cidrs;
  }

  /**
   * The address every network listener must bind to.
   * @throws VpmdError E_ACCESS_BIND when no management address is configured or resolvable.
   */
  bindAddress(): string {
    this.bind ??= resolveBindAddress({
      ...(this.opts.address !== undefined ? { address: this.opts.address } : {}),
      ...(this.opts.interface !== undefined ? { interface: this.opts.interface } : {}),
    });
    return this.bind;
  }

  /** True when a peer at `address` may connect. */
  isAddressAllowed(address: string | undefined): boolean {
    return address !== undefined && this.allowList.allows(address);
  }

  /** @throws VpmdError E_ACCESS_ADDRESS when `address` is outside the allow-list. */
  checkAddress(address: string | undefined, surface: string): void {
    if (!this.isAddressAllowed(address)) {
      throw new VpmdError(
        'E_ACCESS_ADDRESS',
        `${surface}: connection from ${address ?? 'an unknown address'} refused (not in management.allow)`,
        {
          address: address ?? null,
          surface,
        },
      );
    }
  }

  /** True when `principal` holds `privilege`. */
  can(principal: Principal, privilege: Privilege): boolean {
    return roleHas(principal.role, privilege);
  }

  /**
   * Requires `privilege` for `action`; records the refusal in the audit trail.
   * @throws VpmdError E_ACCESS_DENIED naming the action, the privilege and the role.
   */
  require(principal: Principal, privilege: Privilege, action: string): void {
    if (this.can(principal, privilege)) return;
    this.audit(principal, action, 'denied', `needs ${privilege}`);
    throw new VpmdError(
      'E_ACCESS_DENIED',
      `${action}: '${principal.name}' (role ${principal.role}) lacks the ${privilege} privilege`,
      { action, privilege, role: principal.role, principal: principal.name },
    );
  }

  /** Records an audit entry for an action by `principal`. */
  audit(principal: Principal, action: string, outcome: 'ok' | 'denied' | 'failed', detail?: string): void {
    this.opts.audit?.({
      action,
      principal: principal.name,
      origin: principal.origin,
      ...(principal.address !== undefined ? { address: principal.address } : {}),
      outcome,
      ...(detail !== undefined ? { detail } : {}),
      timestamp: (this.opts.now ?? Date.now)(),
    });
  }
}
