import { GraphQLError } from 'graphql';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
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

/** As createAuthenticator, keeping the token's expiry: a subscription outlives its request and must end when its token does. */
export function createTokenVerifier(jwksUrl: string): TokenVerifier {
  const jwks = createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: 5_000, timeoutDuration: 2_000 });
  return async function verify(authorization: string | undefined): Promise<VerifiedToken | null> {
    if (!authorization) return null;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match) throw unauthenticated('Authorization header must be "Bearer <token>"');
    try {
      const { payload } = await jwtVerify(match[1]!, jwks, { issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE, algorithms: [TOKEN_ALG] });
      if (typeof payload.sub !== 'string' || !payload.sub) throw unauthenticated('Token has no subject');
      const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
      return { viewer: { userId: payload.sub, scopes }, expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined };
    } catch (error) {
      if (error instanceof GraphQLError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw unauthenticated('Token has expired; sign in again');
      if (error instanceof joseErrors.JOSEError && !(error instanceof joseErrors.JWKSTimeout)) {
        throw unauthenticated('Token is not valid');
      }
      // The key set could not be fetched: that is our fault, not the client's.
      throw new GraphQLError('Sign-in is temporarily unavailable', { extensions: { code: 'SUBGRAPH_UNAVAILABLE', http: { status: 503 } } });
    }
  };
}

export function unauthenticated(message: string) {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}
