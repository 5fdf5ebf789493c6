/**
 * Who may talk to the hub (and to an agent's /status): requests must name it by one of its own
 * addresses (so a DNS-rebinding page cannot reach it under the attacker's name), browser pages
 * must come from its own origin or an allowed one, and a hub with a token asks for it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';

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

/** A Host header: a name or an address, and an optional port. */
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(:\d{1,5})?$/i;

/** A Host header as URLs normalize it (lower case, canonical IPv4, compressed and bracketed IPv6), or null if it is not one. */
function parseHost(header: string | undefined): { name: string; host: string } | null {
  if (header === undefined || !HOST_HEADER.test(header)) return null;
  try {
    const url = new URL(`http://${header}`);
    return { name: url.hostname, host: url.host };
  } catch {
    return null;
  }
}

/** An address as a Host header would name it: IPv6 in brackets, normalized. */
function addressName(address: string): string | null {
  return parseHost(address.includes(':') ? `[${address}]` : address)?.name ?? null;
}

function isLoopbackName(name: string): boolean {
  return isLoopbackHost(name === '[::1]' ? '::1' : name);
}

export interface AccessPolicy {
  /** Why a request's Host header does not name this hub, or null when it does. */
  hostRefusal(hostHeader: string | undefined): string | null;
  /** Why a browser page may not use the hub, or null when it may; `hostHeader` has passed hostRefusal. */
  originRefusal(origin: string | undefined, hostHeader: string): string | null;
}

/**
 * Any port is accepted in Host: a rebinding attack is told apart by the name (the attacker's
 * page must use its own name to reach the hub), and a fixed port would break SSH tunnels and
 * port forwarding that expose the hub on another local port.
 */
export function createAccessPolicy(listenHost: string, allowedOrigins: readonly string[], otherNames: readonly string[] = [], what = 'hub'): AccessPolicy {
  const configured = addressName(listenHost);
  if (configured === null) throw new Error(`the ${what}'s host must be a host name or an IP address (got "${listenHost}")`);
  /** Other names this server goes by (an agent: the address the cluster file gives its HTTP port). */
  const names = new Set(otherNames.map((name) => addressName(name)).filter((name): name is string => name !== null));
  const wildcard = configured === '0.0.0.0' || configured === '[::]';
  const origins = new Set(allowedOrigins);
  /** On all interfaces the hub answers to each of the machine's addresses, looked up when asked since they change. */
  const isOwnInterface = (name: string): boolean =>
    name === hostname().toLowerCase() ||
    Object.values(networkInterfaces()).some((addresses) => addresses?.some((address) => addressName(address.address) === name));
  return {
    hostRefusal(hostHeader) {
      if (hostHeader === undefined || hostHeader === '') return `a Host header naming this ${what} is required`;
      const parsed = parseHost(hostHeader);
      const shown = JSON.stringify(hostHeader.slice(0, 100));
      if (parsed === null) return `Host ${shown} is not a host name`;
      if (isLoopbackName(parsed.name) || parsed.name === configured || names.has(parsed.name) || (wildcard && isOwnInterface(parsed.name))) return null;
      return `"${parsed.name.slice(0, 100)}" is not an address of this ${what} (DNS rebinding protection): open it as localhost, 127.0.0.1 or the address it listens on`;
    },
    originRefusal(origin, hostHeader) {
      if (origin === undefined || origins.has(origin)) return null;
      const host = originHost(origin);
      if (host !== null && host === parseHost(hostHeader)?.host) return null;
      return `pages from ${JSON.stringify(origin.slice(0, 100))} may not use this hub: open the dashboard it serves`;
    },
  };
}

function originHost(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null; // "null", from a sandboxed page or a file, is no URL.
  }
}

function isHttpOrigin(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

/** The browser origins admitted besides the hub's own: exact http(s) origins like "http://localhost:5173". */
export function parseAllowedOrigins(value: unknown): string[] {
  if (!Array.isArray(value)) throw new Error('allowedOrigins must be an array of origins like "http://localhost:5173"');
  return value.map((origin: unknown, index) => {
    if (!isHttpOrigin(origin)) throw new Error(`allowedOrigins[${index}] must be an http(s) origin like "http://localhost:5173" (got ${JSON.stringify(origin)})`);
    return origin;
  });
}
