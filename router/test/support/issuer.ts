import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { TOKEN_AUDIENCE as AUDIENCE, TOKEN_ISSUER as ISSUER } from '@shop/platform';

export type Signer = (sub: string, options?: { expiresIn?: string; claims?: Record<string, unknown> }) => Promise<string>;

/** A JWKS endpoint like the users subgraph's, and a signer for tokens it verifies. */
export async function startIssuer(): Promise<{ jwksUrl: string; sign: Signer; close(): Promise<void> }> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };
  const server = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    sign: (sub, { expiresIn = '5m', claims = {} } = {}) =>
      new SignJWT({ scope: 'customer', ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: 'test-key' })
        .setSubject(sub)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(expiresIn)
        .sign(privateKey),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
