/**
 * The network faults a console asked this agent to enforce, held on a lease: the table (the
 * embedded fabric's own LinkRules, loaded from plain data) lapses unless the console renews it,
 * so a console that crashed or was closed never leaves the cluster broken.
 */
import { LinkRules, linksBetween, type NetworkTable } from '../../shared/network/link-rules.js';
import { isEmptyTable, type RefusalCode, type WireNetworkTable } from '../../shared/protocol/agent-wire.js';
import type { Clock } from '../runtime/clock.js';
import { Lease } from './lease.js';

export interface FaultView {
  /** As the console sent it (a partition into groups stays groups). */
  table: WireNetworkTable;
  version: string;
  owner: string;
  expiresInMs: number;
}

interface Held {
  table: WireNetworkTable;
  version: string;
  owner: string;
  lease: Lease;
}

/** Why a table cannot be enforced, naming the field; null when it can. */
export function tableProblem(table: WireNetworkTable, members: ReadonlySet<string>): string | null {
  const groupOf = new Map<string, number>();
  for (const [index, group] of (table.groups ?? []).entries()) {
    for (const member of group) {
      if (!members.has(member)) return `table.groups[${index}]: "${member}" is not a member`;
      const other = groupOf.get(member);
      if (other !== undefined) return `table.groups[${index}]: "${member}" is also in table.groups[${other}]`;
      groupOf.set(member, index);
    }
  }
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

/** The rules' own table: the groups' links blocked one by one, with the links blocked explicitly. */
export function expandTable(table: WireNetworkTable): NetworkTable {
  return { blocked: [...new Set([...table.blocked, ...linksBetween(table.groups ?? [])])], links: table.links };
}

export class FaultLease {
  readonly rules = new LinkRules();
  private held: Held | null = null;
  /** The last table set (an empty one too) and who set it, until it lapses or the agent clears it. */
  private last: { version: string; owner: string } | null = null;

  constructor(
    private readonly clock: Clock,
    /** The longest lease a console may ask for (the cluster file's faultLeaseMs). */
    private readonly leaseMsMax: number,
    /** The table lapsed: nobody renewed it in time. */
    private readonly onExpired: (owner: string, version: string) => void,
  ) {}

  /** Replaces the table; an empty one clears it. Returns the lease granted (null: nothing held). */
  set(table: WireNetworkTable, version: string, leaseMs: number, owner: string): { leaseMs: number; expiresInMs: number | null } {
    this.drop();
    this.rules.load(expandTable(table));
    this.last = { version, owner };
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

  /**
   * Extends the lease of the table in force when `version` names it; otherwise says why not:
   * `replaced` when a table was set since (by another console, or cleared), `lapsed` when none was.
   */
  renew(version: string): { ok: true; expiresInMs: number } | { ok: false; error: string; code: RefusalCode } {
    const held = this.held;
    const last = this.last;
    if (last !== null && last.version !== version) {
      const what = held === null ? 'the fault table was cleared with version' : 'the fault table in force is version';
      return { ok: false, code: 'replaced', error: `${what} "${last.version}" (set by ${last.owner}), not "${version}"` };
    }
    if (held === null) return { ok: false, code: 'lapsed', error: `no fault table is in force (version "${version}" lapsed)` };
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
    this.last = null;
    this.rules.load({ blocked: [], links: [] });
  }

  private drop(): void {
    this.held?.lease.cancel();
    this.held = null;
  }
}
