/**
 * What members must agree on before they talk: the membership (ids, addresses, voting flags,
 * algorithm and timing; not the cluster's name) and its fingerprint. A peer with another one is
 * refused, and both ends log the field that differs.
 */
import { createHash } from 'node:crypto';
import { membershipDifference, type MembershipSummary } from '../../shared/protocol/cluster-file.js';

/** sha256 (hex) of the membership as canonical JSON (keys sorted at every level). */
export function membershipFingerprint(summary: MembershipSummary): string {
  return createHash('sha256').update(canonicalJson(summary)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Why two members' memberships disagree, naming both (the same words on both ends' logs), or
 * null when they agree. `theirFingerprint` catches a peer whose membership reads the same but
 * whose fingerprint does not (another version's canonical form).
 */
export function describeMismatch(
  ours: { id: string; membership: MembershipSummary; fingerprint: string },
  theirs: { id: string; membership: MembershipSummary | undefined; fingerprint: string | undefined },
): string | null {
  if (theirs.membership === undefined || theirs.fingerprint === undefined) return `${theirs.id} sent no membership`;
  if (theirs.fingerprint === ours.fingerprint) return null;
  const difference = membershipDifference(ours.membership, theirs.membership);
  const words =
    difference === null
      ? `fingerprints differ (${ours.fingerprint.slice(0, 12)} at ${ours.id}, ${theirs.fingerprint.slice(0, 12)} at ${theirs.id})`
      : difference
          .replace('ours is', `${ours.id} has`)
          .replace('theirs is', `${theirs.id} has`)
          .replace('we list', `${ours.id} lists`)
          .replace('they list', `${theirs.id} lists`);
  return `membership differs: ${words}`;
}
