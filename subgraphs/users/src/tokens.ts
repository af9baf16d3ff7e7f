import { createPublicKey } from 'node:crypto';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importPKCS8,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  type JWTHeaderParameters,
} from 'jose';
import { TOKEN_ALG, TOKEN_AUDIENCE, TOKEN_ISSUER, type Logger } from '@shop/platform';

export const JWKS_PATH = '/.well-known/jwks.json';

export interface TokenIssuer {
  /** Signs an access token: `sub` = user id, `scope` = space-separated scopes. */
  issue(user: { id: string; scopes: readonly string[] }): Promise<string>;
  /** The public key set the router verifies tokens against (served at JWKS_PATH). */
  readonly jwks: JSONWebKeySet;
  readonly kid: string;
}

export interface TokenIssuerOptions {
  /** PKCS8 PEM (ES256). Absent: a key pair is generated, valid until the process exits. */
  privateKeyPem: string | undefined;
  ttlSeconds: number;
  logger?: Logger | undefined;
}

export async function createTokenIssuer({ privateKeyPem, ttlSeconds, logger }: TokenIssuerOptions): Promise<TokenIssuer> {
  let privateKey: CryptoKey;
  let publicJwk: JWK;
  if (privateKeyPem) {
    privateKey = await importPKCS8(privateKeyPem, TOKEN_ALG);
    publicJwk = createPublicKey(privateKeyPem).export({ format: 'jwk' }) as JWK;
  } else {
    logger?.info('JWT_PRIVATE_KEY is not set: signing tokens with a key generated at start-up; tokens stop verifying after a restart');
    const pair = await generateKeyPair(TOKEN_ALG);
    privateKey = pair.privateKey;
    publicJwk = await exportJWK(pair.publicKey);
  }
  // Only the public members, whatever the export produced.
  const { kty, crv, x, y } = publicJwk;
  const kid = await calculateJwkThumbprint({ kty, crv, x, y });
  const jwks: JSONWebKeySet = { keys: [{ kty, crv, x, y, kid, alg: TOKEN_ALG, use: 'sig' }] };

  return {
    jwks,
    kid,
    issue: (user) =>
      new SignJWT({ scope: user.scopes.join(' ') })
        .setProtectedHeader({ alg: TOKEN_ALG, typ: 'JWT', kid })
        .setSubject(user.id)
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(privateKey),
  };
}

/**
 * Checks a token the way the router does (signature against the JWKS, issuer, audience, expiry).
 * Used by tests; in production the router verifies.
 */
export async function verifyToken(
  token: string,
  jwks: JSONWebKeySet,
): Promise<{ payload: JWTPayload & { scope?: string }; header: JWTHeaderParameters }> {
  const { payload, protectedHeader } = await jwtVerify<{ scope?: string }>(token, createLocalJWKSet(jwks), {
    issuer: TOKEN_ISSUER,
    audience: TOKEN_AUDIENCE,
    algorithms: [TOKEN_ALG],
  });
  return { payload, header: protectedHeader };
}
