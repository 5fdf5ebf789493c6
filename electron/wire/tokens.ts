/**
 * The secrets of a real cluster, and what each one may do (docs/operators.md, "Who can do what"):
 *
 * - the cluster token: agents prove with it that they are members (peers), so it elects;
 * - the console token: made from the cluster token, one way. A console proves with it that it
 *   may watch and steer; it opens no peer connection, and the cluster token cannot be learned from it.
 *
 * A console given the cluster token makes the console token itself and uses only that. How strong
 * a token must be is shared/protocol/tokens.ts.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Role } from '../../shared/protocol/agent-wire.js';
import { CONSOLE_TOKEN_PREFIX, isConsoleToken } from '../../shared/protocol/tokens.js';

/** A fresh token: 32 random bytes. */
const NEW_TOKEN_BYTES = 32;

/** A new random token (base64url, 43 characters, 256 bits): for a cluster or a hub. */
export function newToken(): string {
  return randomBytes(NEW_TOKEN_BYTES).toString('base64url');
}

/** The console token of a cluster token (HMAC-SHA256, one way). */
export function consoleTokenOf(clusterToken: string): string {
  return CONSOLE_TOKEN_PREFIX + createHmac('sha256', clusterToken).update('conclave/console-token/1').digest('base64url');
}

/** The key a connection of `role` proves itself with: the cluster token for peers, the console token for consoles. */
export function roleKey(role: Role, token: string): string {
  if (role === 'peer') return token;
  return isConsoleToken(token) ? token : consoleTokenOf(token);
}
