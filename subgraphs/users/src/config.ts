import { createPrivateKey } from 'node:crypto';
import {
  ConfigError, intVar, optionalString, readSubgraphBaseConfig, type Env, type SubgraphBaseConfig,
} from '@shop/service-kit';

export interface UsersConfig extends SubgraphBaseConfig {
  /** ES256 signing key as PKCS8 PEM; absent in development, where a key is generated at start-up. */
  jwtPrivateKey: string | undefined;
  jwtTtlSeconds: number;
}

/** The only place the users subgraph reads the environment. */
export function readConfig(env: Env): UsersConfig {
  const base = readSubgraphBaseConfig(env, 'users', 4004);
  const jwtPrivateKey = readSigningKey(env);
  if (base.production && !jwtPrivateKey) {
    // A generated key would change on every restart and differ between replicas, logging everyone out.
    throw new ConfigError('JWT_PRIVATE_KEY is required when NODE_ENV=production: tokens must be signed with a stable key');
  }
  return {
    ...base,
    jwtPrivateKey,
    jwtTtlSeconds: intVar(env, 'JWT_TTL_SECONDS', 3600, { min: 60, max: 7 * 24 * 3600 }),
  };
}

/** Parses the key now so a bad one fails start-up; returns it as PKCS8 PEM whatever EC PEM form it came in. */
function readSigningKey(env: Env): string | undefined {
  const raw = optionalString(env, 'JWT_PRIVATE_KEY');
  if (raw === undefined) return undefined;
  // Env files and secret stores often carry a PEM on one line with escaped newlines.
  const pem = raw.replace(/\\n/g, '\n');
  let key;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new ConfigError('JWT_PRIVATE_KEY must be a PEM-encoded private key (PKCS8)');
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new ConfigError('JWT_PRIVATE_KEY must be an EC P-256 key: tokens are signed with ES256');
  }
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}
