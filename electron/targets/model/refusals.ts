/** How the model says no to a command: in words, changing nothing. */
import type { CommandAck } from '../../../shared/protocol/types.js';

export type Refusal = Extract<CommandAck, { ok: false }>;

export function refuse(error: string): Refusal {
  return { ok: false, error };
}

/** The refusal for an id that names no member, with the members it could have named. */
export function unknownNode(id: string, members: readonly string[]): string {
  const first = members[0];
  const last = members[members.length - 1];
  const named = members.length > 3 ? `${first} to ${last}` : members.join(', ');
  return `unknown node "${id.slice(0, 64)}" (nodes are ${named})`;
}
