import { randomBytes } from 'node:crypto';

export type PaymentStatus = 'authorised' | 'captured' | 'voided';

export interface AuthorizationRecord {
  id: string;
  /** The Idempotency-Key the authorisation was made with. */
  key: string;
  status: PaymentStatus;
  amount: string;
  currency: string;
  /** Capture calls executed against it (replays of a stored answer not counted): more than 1 means a caller captured twice. */
  captures: number;
  /** Void calls executed against it, likewise. */
  voids: number;
}

/** An HTTP answer as the sandbox stores it under an idempotency key, to send again on a replay. */
export interface StoredResult {
  statusCode: number;
  body: unknown;
}

/** What a call did; `store: false` (a 500, a 404) leaves the key free, so a retry runs again. */
export interface Executed extends StoredResult {
  store: boolean;
  /** Answer only after this long although the result is stored (a charge whose response is lost). */
  holdMs?: number;
}

export type IdempotentOutcome = { kind: 'fresh'; executed: Executed } | { kind: 'replay'; result: StoredResult } | { kind: 'reused' };

interface KeyEntry {
  /** The operation and its arguments: the same key with another fingerprint is a client bug (422). */
  fingerprint: string;
  result?: StoredResult;
  /** Settles when the first call with this key finishes; a second call with the key waits on it. */
  settled: Promise<void>;
}

export type TallyEvent = 'declined' | 'failed' | 'replayed' | 'timedOutAfterCharge';

export interface LedgerCounts {
  /** Authorisations kept now (at most the bound). */
  authorizations: number;
  authorised: number;
  captured: number;
  voided: number;
  /** Authorisation calls executed and answered 402. */
  declined: number;
  /** Calls answered 500 (tok_fail, injected errors). */
  failed: number;
  /** Calls answered from a stored result (`Idempotent-Replayed: true`). */
  replayed: number;
  /** Authorisations recorded whose answer was held back (tok_timeout_after_charge or the injected rate). */
  timedOutAfterCharge: number;
}

/**
 * The sandbox's memory: authorisations and the results stored under idempotency keys, both kept
 * in insertion order and bounded (the oldest dropped first), so a long run cannot grow without end.
 */
export class Ledger {
  private readonly authorizations = new Map<string, AuthorizationRecord>();
  private readonly byKey = new Map<string, string>();
  private readonly keys = new Map<string, KeyEntry>();
  private readonly tally: Record<TallyEvent, number> = { declined: 0, failed: 0, replayed: 0, timedOutAfterCharge: 0 };

  constructor(private readonly max: number) {}

  /**
   * Runs `execute` once per key: a repeated key with the same fingerprint gets the stored result;
   * one arriving while the first call is still executing waits for it, then gets its result (or,
   * if the first stored nothing, runs itself); another fingerprint gets `reused`.
   */
  async idempotent(key: string, fingerprint: string, execute: () => Promise<Executed>): Promise<IdempotentOutcome> {
    for (;;) {
      const entry = this.keys.get(key);
      if (!entry) break;
      if (entry.fingerprint !== fingerprint) return { kind: 'reused' };
      if (entry.result) {
        this.tally.replayed++;
        return { kind: 'replay', result: entry.result };
      }
      await entry.settled;
    }
    let settle!: () => void;
    const entry: KeyEntry = { fingerprint, settled: new Promise<void>((resolve) => (settle = resolve)) };
    this.keys.set(key, entry);
    try {
      const executed = await execute();
      if (executed.store) {
        entry.result = { statusCode: executed.statusCode, body: executed.body };
        this.trim(this.keys);
      } else {
        this.keys.delete(key);
      }
      return { kind: 'fresh', executed };
    } catch (error) {
      this.keys.delete(key);
      throw error;
    } finally {
      settle();
    }
  }

  authorize(key: string, amount: string, currency: string): AuthorizationRecord {
    const record: AuthorizationRecord = {
      id: `pay_${randomBytes(12).toString('hex')}`,
      key,
      status: 'authorised',
      amount,
      currency,
      captures: 0,
      voids: 0,
    };
    this.authorizations.set(record.id, record);
    this.byKey.set(key, record.id);
    while (this.authorizations.size > this.max) {
      const oldest = this.authorizations.values().next().value;
      if (!oldest) break;
      this.authorizations.delete(oldest.id);
      if (this.byKey.get(oldest.key) === oldest.id) this.byKey.delete(oldest.key);
    }
    return record;
  }

  get(id: string): AuthorizationRecord | undefined {
    return this.authorizations.get(id);
  }

  findByKey(key: string): AuthorizationRecord | undefined {
    const id = this.byKey.get(key);
    return id === undefined ? undefined : this.authorizations.get(id);
  }

  count(event: TallyEvent): void {
    this.tally[event]++;
  }

  /** The newest `limit` authorisations, oldest first, and the counts. */
  view(limit: number): { authorizations: AuthorizationRecord[]; counts: LedgerCounts } {
    const all = [...this.authorizations.values()];
    const counts: LedgerCounts = { authorizations: all.length, authorised: 0, captured: 0, voided: 0, ...this.tally };
    for (const record of all) counts[record.status]++;
    return { authorizations: all.slice(-limit).map((record) => ({ ...record })), counts };
  }

  private trim(map: Map<string, unknown>): void {
    while (map.size > this.max) {
      const oldest = map.keys().next().value;
      if (oldest === undefined) break;
      map.delete(oldest);
    }
  }
}
