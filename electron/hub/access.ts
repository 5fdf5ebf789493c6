/** Who may talk to the hub: the token, and how HTTP clients present it. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Compares digests so that the time taken says nothing about the token. */
export function tokensEqual(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(expected), digest(given));
}

/** The credentials of `Authorization: Bearer T`; the scheme is case-insensitive (RFC 7235) and spaces around T are ignored. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^\s*bearer\s+(.*?)\s*$/i.exec(header);
  return match?.[1] || undefined;
}

/** HTTP endpoints with data take the token as `Authorization: Bearer T` or `?token=T`. */
export function httpAuthorized(request: IncomingMessage, url: URL, token: string | null): boolean {
  if (!token) return true;
  return tokensEqual(token, bearerToken(request.headers.authorization) ?? url.searchParams.get('token') ?? undefined);
}
