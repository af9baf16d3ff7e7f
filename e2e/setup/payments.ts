import { inject } from 'vitest';

/** The stack's payment sandbox: its fault switches and its ledger (both absent in production). */
const sandbox = () => inject('paymentProviderUrl');

export interface Faults {
  latencyMs?: number;
  errorRate?: number;
  timeoutAfterChargeRate?: number;
  timeoutAfterChargeMs?: number;
}

export async function setFaults(faults: Faults): Promise<void> {
  const response = await fetch(`${sandbox()}/_sandbox/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ latencyMs: 0, errorRate: 0, timeoutAfterChargeRate: 0, timeoutAfterChargeMs: 30_000, ...faults }),
  });
  if (!response.ok) throw new Error(`sandbox refused the faults: ${response.status} ${await response.text()}`);
}

export interface LedgerEntry {
  id: string;
  key: string;
  status: 'authorised' | 'captured' | 'voided';
  amount: string;
  currency: string;
  captures: number;
  voids: number;
}

export interface Ledger {
  authorizations: LedgerEntry[];
  counts: Record<
    'authorizations' | 'authorised' | 'captured' | 'voided' | 'declined' | 'failed' | 'replayed' | 'timedOutAfterCharge',
    number
  >;
}

export async function ledger(limit = 100_000): Promise<Ledger> {
  const response = await fetch(`${sandbox()}/_sandbox/ledger?limit=${limit}`);
  if (!response.ok) throw new Error(`sandbox ledger: ${response.status}`);
  return (await response.json()) as Ledger;
}

/** The sandbox's authorisation behind a payment id (an order's `paymentId` in its events). */
export async function authorization(paymentId: string): Promise<LedgerEntry | undefined> {
  return (await ledger()).authorizations.find((a) => a.id === paymentId);
}
