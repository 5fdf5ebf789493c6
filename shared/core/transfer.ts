import type { ActionResult, ElectionConfig, Role } from './election.js';
import type { Membership } from './membership.js';

/** A leadership transfer in progress: to whom, and until when the target may act on it. */
export interface Transfer {
  target: string;
  deadline: number;
}

/** Starts a transfer that expires after the maximum election timeout, as etcd's does. */
export function startTransfer(config: ElectionConfig, target: string, now: number): Transfer {
  return { target, deadline: now + config.electionTimeoutMaxMs };
}

/** Why a node cannot hand leadership to `target`, or null when it can. */
export function transferRefusal(node: { id: string; role: Role; membership: Membership }, target: string): ActionResult | null {
  if (node.role !== 'leader') return { ok: false, error: `${node.id} is not the leader` };
  if (target === node.id) return { ok: false, error: `${node.id} already leads` };
  if (!node.membership.peers.includes(target)) return { ok: false, error: `${target} is not a member of this cluster` };
  if (!node.membership.voters.has(target)) return { ok: false, error: `${target} does not vote, so it cannot lead` };
  if (!node.membership.canLead(target)) return { ok: false, error: `${target} has priority 0, so it never leads` };
  return null;
}
