/**
 * The network faults a console asked this agent to enforce, held on a lease: the table (the
 * embedded fabric's own LinkRules, loaded from plain data) lapses unless the console renews it,
 * so a console that crashed or was closed never leaves the cluster broken.
 */
import { LinkRules, type NetworkTable } from '../../shared/network/link-rules.js';
import type { Clock } from '../runtime/clock.js';
import { Lease } from './lease.js';

export interface FaultView {
  table: NetworkTable;
  version: string;
  owner: string;
  expiresInMs: number;
}

interface Held {
  table: NetworkTable;
  version: string;
  owner: string;
  lease: Lease;
}

/** Why a table cannot be enforced, naming the field; null when it can. */
export function tableProblem(table: NetworkTable, members: ReadonlySet<string>): string | null {
  for (const [index, link] of table.blocked.entries()) {
    const [from, to, extra] = link.split('->');
    if (extra !== undefined || from === undefined || to === undefined || !members.has(from) || !members.has(to)) {
      return `table.blocked[${index}] must be "from->to" between members (got "${link.slice(0, 80)}")`;
    }
  }
  for (const [index, link] of table.links.entries()) {
    if ((link.from === null) !== (link.to === null)) return `table.links[${index}]: from and to are both members, or both null (every link)`;
    for (const end of ['from', 'to'] as const) {
      const value = link[end];
      if (value !== null && !members.has(value)) return `table.links[${index}].${end}: "${value}" is not a member`;
    }
  }
  return null;
}

export function isEmptyTable(table: NetworkTable): boolean {
  return table.blocked.length === 0 && table.links.length === 0;
}

export class FaultLease {
  readonly rules = new LinkRules();
  private held: Held | null = null;

  constructor(
    private readonly clock: Clock,
    /** The longest lease a console may ask for (the cluster file's faultLeaseMs). */
    private readonly leaseMsMax: number,
    /** The table lapsed: nobody renewed it in time. */
    private readonly onExpired: (owner: string, version: string) => void,
  ) {}

  /** Replaces the table; an empty one clears it. Returns the lease granted (null: nothing held). */
  set(table: NetworkTable, version: string, leaseMs: number, owner: string): { leaseMs: number; expiresInMs: number | null } {
    this.drop();
    this.rules.load(table);
    const granted = Math.min(leaseMs, this.leaseMsMax);
    if (isEmptyTable(table)) return { leaseMs: granted, expiresInMs: null };
    const held: Held = {
      table,
      version,
      owner,
      lease: new Lease(this.clock, granted, () => {
        if (this.held !== held) return;
        this.clear();
        this.onExpired(owner, version);
      }),
    };
    this.held = held;
    return { leaseMs: granted, expiresInMs: granted };
  }

  /** Extends the lease of the table in force when `version` names it; otherwise says why not. */
  renew(version: string): { ok: true; expiresInMs: number } | { ok: false; error: string } {
    const held = this.held;
    if (held === null) return { ok: false, error: `no fault table is in force (version "${version}" lapsed or was replaced)` };
    if (held.version !== version) return { ok: false, error: `the fault table in force is version "${held.version}" (set by ${held.owner}), not "${version}"` };
    held.lease.renew();
    return { ok: true, expiresInMs: held.lease.leaseMs };
  }

  view(): FaultView | null {
    const held = this.held;
    if (held === null) return null;
    return { table: held.table, version: held.version, owner: held.owner, expiresInMs: held.lease.expiresInMs() };
  }

  /** Clears the table without telling anyone (the agent stops). */
  clear(): void {
    this.drop();
    this.rules.load({ blocked: [], links: [] });
  }

  private drop(): void {
    this.held?.lease.cancel();
    this.held = null;
  }
}
