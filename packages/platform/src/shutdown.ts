/** The logger calls the shutdown makes (pino's logger fits). */
export interface ShutdownLogger {
  info(obj: object, msg?: string): void;
  info(msg: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Where signals come from: `process`, or an EventEmitter in tests. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

export interface ShutdownOptions {
  log: ShutdownLogger;
  /** Marks the service not ready (`/ready` answers 503) while it keeps serving. */
  beginShutdown: () => void;
  /** Stops accepting, lets in-flight requests finish, then closes pools, caches and Redis. */
  close: () => Promise<void>;
  /** How long the service keeps serving while not ready, so a load balancer stops sending. */
  shutdownDelayMs: number;
  /** Longest `close` may take; past it the remaining connections are cut and the process exits 1. */
  drainTimeoutMs: number;
  /** Cuts every remaining connection (`server.closeAllConnections()`). */
  closeAllConnections: () => void;
  /** Signals that start the shutdown; SIGINT and SIGTERM by default. */
  signals?: readonly NodeJS.Signals[];
  /** Defaults to `process`; tests pass an EventEmitter. */
  source?: SignalSource;
  /** Defaults to `process.exit`; tests pass a spy. Called at most once. */
  exit?: (code: number) => void;
}

export interface ShutdownHandle {
  /** Runs the shutdown as if `signal` had arrived; resolves with the exit code once it has exited. */
  shutdown(signal: NodeJS.Signals): Promise<number>;
  /** Removes the signal listeners. */
  dispose(): void;
}

/**
 * SIGTERM/SIGINT, the way every service stops: `beginShutdown` at once (`/ready` turns 503 while
 * the service keeps serving for `shutdownDelayMs`, so a load balancer stops sending), then
 * `close` (the listener closes, in-flight requests finish, pools, caches and Redis close) and exit
 * 0. Past `drainTimeoutMs` the remaining connections are cut and it exits 1; so does a failing
 * close; a second signal exits 1 at once.
 */
export function handleShutdownSignals(options: ShutdownOptions): ShutdownHandle {
  const { log, shutdownDelayMs, drainTimeoutMs, signals = ['SIGINT', 'SIGTERM'], source = process } = options;
  const exitProcess = options.exit ?? ((code: number) => process.exit(code));
  let exitCode: number | undefined;
  let exited!: (code: number) => void;
  const exitedPromise = new Promise<number>((resolve) => (exited = resolve));
  const exit = (code: number) => {
    if (exitCode !== undefined) return;
    exitCode = code;
    exited(code);
    exitProcess(code);
  };

  let started = false;
  async function run(signal: NodeJS.Signals): Promise<void> {
    if (started) {
      log.warn({ signal }, 'second signal during shutdown: exiting now');
      exit(1);
      return;
    }
    started = true;
    options.beginShutdown();
    log.info({ signal, shutdownDelayMs, drainTimeoutMs }, 'shutting down: not ready');
    if (shutdownDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, shutdownDelayMs));
    if (exitCode !== undefined) return;

    const drainTimer = setTimeout(() => {
      log.error({ drainTimeoutMs }, 'drain timeout: closing remaining connections and exiting');
      options.closeAllConnections();
      exit(1);
    }, drainTimeoutMs);
    try {
      await options.close();
    } finally {
      clearTimeout(drainTimer);
    }
    if (exitCode === undefined) log.info('shutdown complete');
    exit(0);
  }
  function shutdown(signal: NodeJS.Signals): Promise<number> {
    run(signal).catch((error: unknown) => {
      log.error({ err: error }, 'shutdown failed');
      exit(1);
    });
    return exitedPromise;
  }

  const listeners = signals.map((signal) => {
    const listener = () => void shutdown(signal);
    source.on(signal, listener);
    return [signal, listener] as const;
  });
  return {
    shutdown,
    dispose() {
      for (const [signal, listener] of listeners) source.off(signal, listener);
    },
  };
}
