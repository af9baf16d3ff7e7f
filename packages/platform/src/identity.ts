import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { unauthenticated, forbidden } from './errors.ts';

/**
 * Identity headers the router sets after verifying the caller's JWT. Subgraphs believe them only
 * when they carry the shared router secret, so a subgraph without a configured secret treats every
 * caller as anonymous; the router strips any a client sends.
 */
export const IDENTITY_HEADERS = {
  userId: 'x-user-id',
  scopes: 'x-user-scopes',
  routerSecret: 'x-router-secret',
  /** The address the router received the client's request from (its `request.ip`). */
  clientIp: 'x-client-ip',
} as const;

/**
 * The access tokens the users subgraph signs and the router verifies: one copy of the claims both
 * sides (and the benchmark's peer-identity gateways) must agree on.
 */
export const TOKEN_ISSUER = 'shop-users';
export const TOKEN_AUDIENCE = 'shop-router';
export const TOKEN_ALG = 'ES256';

export interface Viewer {
  userId: string;
  scopes: string[];
}

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sameSecret(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * True when the request carries the configured router/service secret: the router itself, or
 * another subgraph calling an internal (`@inaccessible`) field. Without a configured secret no
 * caller is trusted, so internal fields are closed rather than open.
 */
export function isTrustedCaller(headers: Headers, routerSecret: string | undefined): boolean {
  return routerSecret !== undefined && sameSecret(header(headers, IDENTITY_HEADERS.routerSecret), routerSecret);
}

/** Guards internal service-to-service fields. */
export function requireTrustedCaller(trusted: boolean): void {
  if (!trusted) throw forbidden('This field is internal to the supergraph');
}

/**
 * Reads the viewer from router-set headers; `null` when anonymous, when the secret is wrong, and
 * always when no secret is configured: anyone who can reach the port could send the headers.
 */
export function viewerFromHeaders(headers: Headers, routerSecret: string | undefined): Viewer | null {
  if (!isTrustedCaller(headers, routerSecret)) return null;
  const userId = header(headers, IDENTITY_HEADERS.userId);
  if (!userId) return null;
  const scopes = (header(headers, IDENTITY_HEADERS.scopes) ?? '').split(/[\s,]+/).filter(Boolean);
  return { userId, scopes };
}

/**
 * The address of the client a request comes from, as the key that per-client limits count by:
 * the router's `x-client-ip` when the caller proves it is the router (or a sibling passing it
 * on), else the connection's own address. A header that is not an IP address is ignored. An IPv6
 * client is keyed by its /64 (see clientKey), as the router's rate limits are.
 */
export function clientIpOf(headers: Headers, socketIp: string, routerSecret: string | undefined): string {
  const forwarded = header(headers, IDENTITY_HEADERS.clientIp);
  const address = forwarded && isIP(forwarded) && isTrustedCaller(headers, routerSecret) ? forwarded : socketIp;
  return clientKey(address);
}

/**
 * One key per client: an IPv4 address as it is (an IPv4-mapped IPv6 address as its IPv4 form),
 * an IPv6 address as its /64 prefix (`2001:db8:1:2::/64`). One host is routinely given a whole
 * /64 and may pick any address in it, so keying by the full address would give it 2^64 keys.
 */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = [...headGroups, ...Array(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0'), ...tailGroups];
  return `${groups
    .slice(0, 4)
    .map((group) => (Number.parseInt(group, 16) || 0).toString(16))
    .join(':')}::/64`;
}

export function requireViewer(viewer: Viewer | null): Viewer {
  if (!viewer) throw unauthenticated();
  return viewer;
}

export function isAdmin(viewer: Viewer | null): boolean {
  return viewer?.scopes.includes('admin') ?? false;
}

/** Admin-only operations: UNAUTHENTICATED when signed out, FORBIDDEN without the `admin` scope. */
export function requireAdmin(viewer: Viewer | null, message = 'Only an admin can do this'): Viewer {
  const v = requireViewer(viewer);
  if (!isAdmin(v)) throw forbidden(message);
  return v;
}

/** The viewer may act on a record owned by `ownerId` when it is theirs or they are an admin. */
export function assertOwnerOrAdmin(viewer: Viewer | null, ownerId: string, what = 'this'): Viewer {
  const v = requireViewer(viewer);
  if (v.userId !== ownerId && !isAdmin(v)) throw forbidden(`You cannot see ${what}`);
  return v;
}
