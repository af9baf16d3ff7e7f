import { GraphQLError } from 'graphql';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import { TOKEN_ALG, TOKEN_AUDIENCE, TOKEN_ISSUER, type Viewer } from '@shop/platform';

/**
 * Verifies `Authorization: Bearer <jwt>` against the users subgraph's JWKS (fetched lazily,
 * cached, refetched when an unknown key id appears). No header → anonymous; a bad or expired
 * token → UNAUTHENTICATED with HTTP 401, never silently anonymous.
 */
export function createAuthenticator(jwksUrl: string) {
  const verify = createTokenVerifier(jwksUrl);
  return async function authenticate(authorization: string | undefined): Promise<Viewer | null> {
    return (await verify(authorization))?.viewer ?? null;
  };
}

/** A verified token: who, and until when (ms since the epoch; subscriptions end then). */
export interface VerifiedToken {
  viewer: Viewer;
  expiresAt: number | undefined;
}

export type TokenVerifier = (authorization: string | undefined) => Promise<VerifiedToken | null>;

/**
 * Verified tokens, kept by their exact text. A signed-in client sends the same token on every
 * request, and its ECDSA verification through WebCrypto costs about 0.4 ms of CPU: 18% of the
 * router's CPU on order history (`npm run bench:profile -- --scenario history`). Envoy's jwt_authn
 * keeps verified tokens the same way (`jwt_cache_config`).
 *
 * Only a token that verified is kept, so a forged one is checked (and rejected) every time. A hit
 * still ends at the token's `exp`, as a fresh verification would. An entry lives at most a minute, so
 * a key withdrawn from the key set stops being honoured from here within that (jose keeps the key set
 * itself for up to ten minutes). Bounds: `maxEntries` tokens, none longer than
 * `TOKEN_CACHE_MAX_CHARS` (a longer one is verified each time, not held), so at most about 20 MB.
 */
export const TOKEN_CACHE_ENTRIES = 5_000;
export const TOKEN_CACHE_MAX_CHARS = 4_096;
export const TOKEN_CACHE_TTL_MS = 60_000;

export interface TokenVerifierOptions {
  /** Tokens kept verified (TOKEN_CACHE_ENTRIES); 0 verifies every request's token. */
  maxEntries?: number;
  /** The clock the cache checks expiry against (tests). */
  now?: () => number;
}

interface CachedToken {
  token: VerifiedToken;
  /** When the entry stops answering: its token's expiry or its time to live, whichever is first. */
  until: number;
}

let tokenCacheCounts = { hits: 0, misses: 0 };

/** How many verifications the cache answered and how many it did not, since the last call (for tests). */
export function takeTokenCacheCounts(): { hits: number; misses: number } {
  const counts = tokenCacheCounts;
  tokenCacheCounts = { hits: 0, misses: 0 };
  return counts;
}

/** As createAuthenticator, keeping the token's expiry: a subscription outlives its request and must end when its token does. */
export function createTokenVerifier(jwksUrl: string, options: TokenVerifierOptions = {}): TokenVerifier {
  const jwks = createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: 5_000, timeoutDuration: 2_000 });
  const maxEntries = options.maxEntries ?? TOKEN_CACHE_ENTRIES;
  const now = options.now ?? Date.now;
  const cache = maxEntries > 0 ? new LRUCache<string, CachedToken>({ max: maxEntries }) : undefined;

  async function verifyToken(token: string): Promise<VerifiedToken> {
    try {
      const { payload } = await jwtVerify(token, jwks, { issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE, algorithms: [TOKEN_ALG] });
      if (typeof payload.sub !== 'string' || !payload.sub) throw unauthenticated('Token has no subject');
      const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
      // Frozen: one verified token answers many requests, none of which may change it for the others.
      const viewer = Object.freeze({ userId: payload.sub, scopes: Object.freeze(scopes) as string[] });
      return Object.freeze({ viewer, expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined });
    } catch (error) {
      if (error instanceof GraphQLError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw expired();
      if (error instanceof joseErrors.JOSEError && !(error instanceof joseErrors.JWKSTimeout)) {
        throw unauthenticated('Token is not valid');
      }
      // The key set could not be fetched: that is our fault, not the client's.
      throw new GraphQLError('Sign-in is temporarily unavailable', { extensions: { code: 'SUBGRAPH_UNAVAILABLE', http: { status: 503 } } });
    }
  }

  return async function verify(authorization: string | undefined): Promise<VerifiedToken | null> {
    if (!authorization) return null;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match) throw unauthenticated('Authorization header must be "Bearer <token>"');
    const token = match[1]!;
    const cacheable = cache !== undefined && token.length <= TOKEN_CACHE_MAX_CHARS;
    if (cacheable) {
      const hit = cache.get(token);
      if (hit) {
        const at = now();
        if (hit.token.expiresAt !== undefined && at >= hit.token.expiresAt) {
          cache.delete(token);
          throw expired();
        }
        if (at < hit.until) {
          tokenCacheCounts.hits++;
          return hit.token;
        }
        cache.delete(token);
      }
    }
    tokenCacheCounts.misses++;
    const verified = await verifyToken(token);
    if (cacheable) cache.set(token, { token: verified, until: Math.min(now() + TOKEN_CACHE_TTL_MS, verified.expiresAt ?? Infinity) });
    return verified;
  };
}

function expired() {
  return unauthenticated('Token has expired; sign in again');
}

export function unauthenticated(message: string) {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}
