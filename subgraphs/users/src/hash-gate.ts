import { codedError } from '@shop/platform';

export interface HashGateLimits {
  /** Password hashes computed at once (each is tens of milliseconds of a libuv thread and 16 MiB). */
  concurrency: number;
  /** Hashes waiting for a slot; past it a sign-in is refused at once rather than queued. */
  queue: number;
  /** Hashes one client address may have running or waiting, so one client cannot take the whole queue. */
  perClient: number;
}

export const DEFAULT_HASH_GATE: HashGateLimits = { concurrency: 2, queue: 32, perClient: 8 };

/** Why a hash was refused: the client's share was taken, or every slot and the queue were. */
export type HashRefusal = 'client_busy' | 'busy';

/**
 * Bounds the password hashing of sign-ins and sign-ups. A flood does not slow everyone down
 * (nor make the router's calls time out): past the bounds the request is answered RATE_LIMITED
 * at once, without hashing; the router and clients retry after `retryAfterSeconds`.
 */
export class HashGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly perClient = new Map<string, number>();

  constructor(
    private readonly limits: HashGateLimits = DEFAULT_HASH_GATE,
    private readonly onRefused: (reason: HashRefusal) => void = () => {},
  ) {}

  async run<T>(client: string, hash: () => Promise<T>): Promise<T> {
    const held = this.perClient.get(client) ?? 0;
    if (held >= this.limits.perClient) {
      this.onRefused('client_busy');
      throw busy('Too many sign-ins from your address at once; retry in a moment');
    }
    if (this.running >= this.limits.concurrency && this.waiting.length >= this.limits.queue) {
      this.onRefused('busy');
      throw busy('Sign-in is busy; retry in a moment');
    }
    this.perClient.set(client, held + 1);
    try {
      if (this.running >= this.limits.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
      else this.running++;
      try {
        return await hash();
      } finally {
        // The slot passes straight to the next waiter, so `running` never over-counts.
        const next = this.waiting.shift();
        if (next) next();
        else this.running--;
      }
    } finally {
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left > 0) this.perClient.set(client, left);
      else this.perClient.delete(client);
    }
  }

  /** For tests and metrics: hashes running and waiting now. */
  get load(): { running: number; waiting: number; clients: number } {
    return { running: this.running, waiting: this.waiting.length, clients: this.perClient.size };
  }
}

function busy(message: string) {
  return codedError('RATE_LIMITED', message, { retryAfterSeconds: 1 });
}
