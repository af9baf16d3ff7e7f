import {
  ConfigError,
  intVar,
  isProduction,
  optionalString,
  ratioVar,
  readListenerTimeouts,
  stringVar,
  type Env,
  type ListenerTimeouts,
} from '@shop/platform';

export const DEFAULT_PORT = 4010;

/** What the sandbox does to calls on purpose, so tests and `npm start` can meet a slow or failing provider. */
export interface Faults {
  /** Added before every `/v1` call is handled. */
  latencyMs: number;
  /** Share of `/v1` calls answered 500 before anything is done (nothing recorded). */
  errorRate: number;
  /** Share of approving authorisations that behave like `tok_timeout_after_charge`. */
  timeoutAfterChargeRate: number;
  /** How long a timed-out-after-charge authorisation holds its answer back. */
  timeoutAfterChargeMs: number;
}

/** Bounds on the faults, at start-up and on `PUT /_sandbox/faults` alike. */
export const FAULT_BOUNDS = {
  latencyMs: { min: 0, max: 60_000 },
  timeoutAfterChargeMs: { min: 0, max: 120_000 },
} as const;

export const DEFAULT_FAULTS: Faults = { latencyMs: 0, errorRate: 0, timeoutAfterChargeRate: 0, timeoutAfterChargeMs: 30_000 };

export interface SandboxConfig {
  port: number;
  host: string;
  /** NODE_ENV=production: the `/_sandbox` test routes answer 404. */
  production: boolean;
  logLevel: string;
  faults: Faults;
  /** SANDBOX_SEED: seeds the fault dice, so a run with rates between 0 and 1 repeats; absent: Math.random. */
  seed: number | undefined;
  /** SANDBOX_MAX_AUTHORIZATIONS: authorisations (and idempotency keys) kept; past it the oldest are dropped. */
  maxAuthorizations: number;
  listener: ListenerTimeouts;
  shutdownDelayMs: number;
  drainTimeoutMs: number;
}

/** The only place the sandbox reads the environment. */
export function readConfig(env: Env): SandboxConfig {
  const seedRaw = optionalString(env, 'SANDBOX_SEED');
  let seed: number | undefined;
  if (seedRaw !== undefined) {
    seed = Number(seedRaw);
    if (!Number.isSafeInteger(seed)) throw new ConfigError(`SANDBOX_SEED must be an integer, got "${seedRaw}"`);
  }
  return {
    port: intVar(env, 'PORT', DEFAULT_PORT, { min: 0, max: 65_535 }),
    host: stringVar(env, 'HOST', '127.0.0.1'),
    production: isProduction(env),
    logLevel: stringVar(env, 'LOG_LEVEL', isProduction(env) ? 'info' : 'warn'),
    faults: {
      latencyMs: intVar(env, 'SANDBOX_LATENCY_MS', DEFAULT_FAULTS.latencyMs, FAULT_BOUNDS.latencyMs),
      errorRate: ratioVar(env, 'SANDBOX_ERROR_RATE', DEFAULT_FAULTS.errorRate),
      timeoutAfterChargeRate: ratioVar(env, 'SANDBOX_TIMEOUT_AFTER_CHARGE_RATE', DEFAULT_FAULTS.timeoutAfterChargeRate),
      timeoutAfterChargeMs: intVar(
        env,
        'SANDBOX_TIMEOUT_AFTER_CHARGE_MS',
        DEFAULT_FAULTS.timeoutAfterChargeMs,
        FAULT_BOUNDS.timeoutAfterChargeMs,
      ),
    },
    seed,
    maxAuthorizations: intVar(env, 'SANDBOX_MAX_AUTHORIZATIONS', 100_000, { min: 1, max: 10_000_000 }),
    listener: readListenerTimeouts(env),
    // Same variables and bounds as every other service (readServiceBaseConfig), which needs secrets the sandbox has no use for.
    shutdownDelayMs: intVar(env, 'SHUTDOWN_DELAY_MS', 0, { min: 0, max: 60_000 }),
    drainTimeoutMs: intVar(env, 'DRAIN_TIMEOUT_MS', 10_000, { min: 0, max: 120_000 }),
  };
}

/** A config for tests and embedding: the defaults, with `overrides` on top (faults merged). */
export function sandboxConfig(overrides: Partial<Omit<SandboxConfig, 'faults'>> & { faults?: Partial<Faults> } = {}): SandboxConfig {
  const base = readConfig({});
  return { ...base, ...overrides, faults: { ...base.faults, ...overrides.faults } };
}
