import { createPrivateKey } from 'node:crypto';
import { ConfigError, intVar, optionalString, type Env } from '@shop/platform';
import { readSubgraphBaseConfig, type SubgraphBaseConfig } from '@shop/subgraph-kit';
import { subgraph } from '@shop/registry';
import { DEFAULT_HASH_GATE, type HashGateLimits } from './hash-gate.ts';
import { DEFAULT_SIGN_IN_THROTTLE, type SignInThrottleLimits } from './sign-in-throttle.ts';

export interface UsersConfig extends SubgraphBaseConfig {
  /** ES256 signing key as PKCS8 PEM; absent in development, where a key is generated at start-up. */
  jwtPrivateKey: string | undefined;
  jwtTtlSeconds: number;
  /** PASSWORD_HASH_CONCURRENCY, PASSWORD_HASH_QUEUE, PASSWORD_HASH_PER_CLIENT (see hash-gate.ts). */
  hashGate: HashGateLimits;
  /** SIGN_IN_FREE_ATTEMPTS, SIGN_IN_MAX_BACKOFF_MS, SIGN_IN_THROTTLE_MAX_BYTES (see sign-in-throttle.ts). */
  signInThrottle: SignInThrottleLimits;
}

/** The only place the users subgraph reads the environment. */
export function readConfig(env: Env): UsersConfig {
  const base = readSubgraphBaseConfig(env, 'users', subgraph('users').port);
  const jwtPrivateKey = readSigningKey(env);
  if (base.production && !jwtPrivateKey) {
    // A generated key would change on every restart and differ between replicas, logging everyone out.
    throw new ConfigError('JWT_PRIVATE_KEY is required when NODE_ENV=production: tokens must be signed with a stable key');
  }
  return {
    ...base,
    jwtPrivateKey,
    jwtTtlSeconds: intVar(env, 'JWT_TTL_SECONDS', 3600, { min: 60, max: 7 * 24 * 3600 }),
    hashGate: {
      concurrency: intVar(env, 'PASSWORD_HASH_CONCURRENCY', DEFAULT_HASH_GATE.concurrency, { min: 1, max: 64 }),
      queue: intVar(env, 'PASSWORD_HASH_QUEUE', DEFAULT_HASH_GATE.queue, { min: 0, max: 10_000 }),
      perClient: intVar(env, 'PASSWORD_HASH_PER_CLIENT', DEFAULT_HASH_GATE.perClient, { min: 1, max: 10_000 }),
    },
    signInThrottle: {
      freeAttempts: intVar(env, 'SIGN_IN_FREE_ATTEMPTS', DEFAULT_SIGN_IN_THROTTLE.freeAttempts, { min: 1, max: 1_000 }),
      maxBackoffMs: intVar(env, 'SIGN_IN_MAX_BACKOFF_MS', DEFAULT_SIGN_IN_THROTTLE.maxBackoffMs, { min: 1_000, max: 24 * 3_600_000 }),
      maxBytes: intVar(env, 'SIGN_IN_THROTTLE_MAX_BYTES', DEFAULT_SIGN_IN_THROTTLE.maxBytes, { min: 64 * 1024, max: 1024 ** 3 }),
    },
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
