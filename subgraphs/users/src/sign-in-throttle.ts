import { createHash } from 'node:crypto';

export interface SignInThrottleLimits {
  /** Sign-ins of one (account, client address) pair allowed before backing off. */
  freeAttempts: number;
  /** The longest wait between attempts, and how long a pair must stay quiet after a wait to start afresh. */
  maxBackoffMs: number;
  /** Memory the table may use, in accounted bytes (ENTRY_BYTES each); the oldest pairs go first. */
  maxBytes: number;
}

export const DEFAULT_SIGN_IN_THROTTLE: SignInThrottleLimits = { freeAttempts: 5, maxBackoffMs: 15 * 60_000, maxBytes: 4 * 1024 * 1024 };

/** The first wait after the free attempts; each further attempt doubles it, up to maxBackoffMs. */
const FIRST_BACKOFF_MS = 1_000;

/**
 * What one entry costs, as an upper estimate: a 44-character key (a SHA-256, so every entry is the
 * same size whatever email was typed), a small object of three numbers, and the Map's own slot.
 */
export const ENTRY_BYTES = 256;

interface Entry {
  /** Attempts since the pair last signed in successfully (or was forgotten). */
  attempts: number;
  /** No attempt is let through before this time. */
  blockedUntil: number;
  lastAttempt: number;
}

/**
 * Throttles sign-in attempts per (account, client address) pair, OWASP-style: a few free
 * attempts, then an exponentially growing wait between attempts, forgotten after a quiet
 * `maxBackoffMs` or a successful sign-in. Keyed on the pair, so an attacker hammering an account
 * from one address slows only themself: the owner signing in from elsewhere is never locked out.
 * Every attempt counts when it starts (a success takes it back), so attempts sent in parallel
 * cannot slip past the free ones. The key is the email as typed (normalised), so unknown emails
 * are throttled exactly like real ones and the answer says nothing about which accounts exist.
 */
export class SignInThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;

  constructor(
    private readonly limits: SignInThrottleLimits = DEFAULT_SIGN_IN_THROTTLE,
    private readonly now: () => number = Date.now,
  ) {
    this.maxEntries = Math.max(1, Math.floor(limits.maxBytes / ENTRY_BYTES));
  }

  /**
   * Records an attempt of `email` from `clientIp`. Returns 0 when it may go ahead, else how many
   * milliseconds until the pair may try again (the attempt is then not counted).
   */
  attempt(email: string, clientIp: string): number {
    const key = pairKey(email, clientIp);
    const now = this.now();
    let entry = this.entries.get(key);
    // Quiet for the maximum backoff after its last wait ended: the pair starts afresh.
    if (entry && now - Math.max(entry.lastAttempt, entry.blockedUntil) > this.limits.maxBackoffMs) entry = undefined;
    const blocked = entry !== undefined && now < entry.blockedUntil;
    if (!blocked) {
      entry ??= { attempts: 0, blockedUntil: 0, lastAttempt: now };
      entry.attempts++;
      entry.lastAttempt = now;
      const over = entry.attempts - this.limits.freeAttempts;
      if (over > 0) entry.blockedUntil = now + Math.min(this.limits.maxBackoffMs, FIRST_BACKOFF_MS * 2 ** Math.min(over - 1, 30));
    }
    // Re-inserted, so the Map's order is least recently attempted first: that is what goes when
    // full, and a pair still hammering while it waits stays remembered.
    this.entries.delete(key);
    this.entries.set(key, entry!);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return blocked ? entry!.blockedUntil - now : 0;
  }

  /** Takes back an attempt that was refused before its password was checked. */
  refund(email: string, clientIp: string): void {
    const entry = this.entries.get(pairKey(email, clientIp));
    if (!entry) return;
    entry.attempts = Math.max(0, entry.attempts - 1);
    if (entry.attempts <= this.limits.freeAttempts) entry.blockedUntil = 0;
  }

  /** The pair signed in: its attempts are forgotten. */
  succeeded(email: string, clientIp: string): void {
    this.entries.delete(pairKey(email, clientIp));
  }

  /** Accounted bytes in use (entries × ENTRY_BYTES). */
  get bytes(): number {
    return this.entries.size * ENTRY_BYTES;
  }

  get size(): number {
    return this.entries.size;
  }
}

function pairKey(email: string, clientIp: string): string {
  return createHash('sha256').update(email).update('\0').update(clientIp).digest('base64');
}
