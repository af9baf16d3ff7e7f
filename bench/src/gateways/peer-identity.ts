/**
 * What the peer gateways (stock Apollo, Hive) do about identity, so that signed-in scenarios work
 * and cost them what they cost our router: verify `Authorization: Bearer <jwt>` against the users
 * subgraph's JWKS (the platform's TOKEN_ISSUER, TOKEN_AUDIENCE and TOKEN_ALG, as router/src/auth.ts), then send the
 * subgraphs `x-user-id` / `x-user-scopes` with `x-router-secret` (IDENTITY_HEADERS). Identity
 * headers a client sends are never forwarded.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { IDENTITY_HEADERS, TOKEN_ALG, TOKEN_AUDIENCE, TOKEN_ISSUER, type Viewer } from '@shop/platform';
import { SUBGRAPH_NAMES, urlVar, type SubgraphName } from '@shop/registry';

export interface PeerConfig {
  port: number;
  routerSecret: string;
  supergraphPath: string;
  subgraphUrls: Record<SubgraphName, string>;
  jwksUrl: string;
}

/** The same variables our router reads (PORT, `<NAME>_URL`, ROUTER_SECRET, SUPERGRAPH_PATH, JWKS_URL). */
export function readPeerConfig(env: NodeJS.ProcessEnv): PeerConfig {
  const subgraphUrls = Object.fromEntries(
    SUBGRAPH_NAMES.map((name) => {
      const url = env[urlVar(name)];
      if (!url) throw new Error(`${urlVar(name)} is required`);
      return [name, url];
    }),
  ) as Record<SubgraphName, string>;
  const routerSecret = env.ROUTER_SECRET;
  if (!routerSecret) throw new Error('ROUTER_SECRET is required');
  const supergraphPath = env.SUPERGRAPH_PATH;
  if (!supergraphPath) throw new Error('SUPERGRAPH_PATH is required');
  return {
    port: Number(env.PORT ?? 0),
    routerSecret,
    supergraphPath,
    subgraphUrls,
    jwksUrl: env.JWKS_URL ?? new URL('/.well-known/jwks.json', subgraphUrls.users).toString(),
  };
}

export function createVerifier(jwksUrl: string) {
  const jwks = createRemoteJWKSet(new URL(jwksUrl));
  return async function verify(authorization: string | null | undefined): Promise<Viewer | null> {
    if (!authorization) return null;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match) throw new Error('Authorization header must be "Bearer <token>"');
    const { payload } = await jwtVerify(match[1]!, jwks, { issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE, algorithms: [TOKEN_ALG] });
    if (typeof payload.sub !== 'string' || !payload.sub) throw new Error('Token has no subject');
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
    return { userId: payload.sub, scopes };
  };
}

/** Headers for one subgraph fetch: the secret always, the identity when signed in. */
export function identityHeaders(viewer: Viewer | null, routerSecret: string): Record<string, string> {
  return {
    [IDENTITY_HEADERS.routerSecret]: routerSecret,
    ...(viewer ? { [IDENTITY_HEADERS.userId]: viewer.userId, [IDENTITY_HEADERS.scopes]: viewer.scopes.join(' ') } : {}),
  };
}
