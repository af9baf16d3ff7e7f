import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@shop/events/testing';
import { logIn, metricsUrlOf, query, type Result, subgraphUrl } from '../setup/client.ts';
import { type Ledger, type LedgerEntry, ledger, setFaults } from '../setup/payments.ts';
import { cents, type Line, placeOrder, stockOf } from '../setup/shop.ts';

/**
 * Issue 14, point 5: 200 concurrent checkouts against a payment provider that fails 20% of calls
 * and, on 5% of the authorisations it makes, answers only after the orders subgraph has stopped
 * waiting (timeout after charge). Each checkout is a client that retries with the same key on the
 * retryable errors, as the API tells it to. Then every placed order ships. What must hold, from the
 * sandbox's ledger and the API: charges captured = orders shipped, no checkout charged twice, no
 * order without an authorisation, stock exact to the unit.
 */
const PRODUCTS = Array.from({ length: 20 }, (_, i) => `p370${String(i + 1).padStart(2, '0')}`);
/** Every fourth product is scarce, so some checkouts end OUT_OF_STOCK (after a payment failure, too). */
const initialStock = (productId: string) => (PRODUCTS.indexOf(productId) % 4 === 3 ? 6 : 40);
const USERS = Array.from({ length: 100 }, (_, i) => `user${61 + i}@example.com`);
const CHECKOUTS = 200;

/** What a real client does on an answer that says "try again with the same key". */
const RETRYABLE = new Set(['PAYMENT_UNAVAILABLE', 'DEPENDENCY_UNAVAILABLE', 'SUBGRAPH_UNAVAILABLE', 'NETWORK']);
/**
 * Bounded: 14 attempts, backoff 200 ms doubling to 3 s with jitter (15 to 30 s of waiting in all).
 * That outlasts two of the 10 s an open circuit waits. Here the circuit's half-open probe fails a
 * quarter of the time (20% failures, 5% timeouts), so a client that gave up after one open period
 * left too many checkouts unplaced for the scenario to show anything.
 */
const MAX_ATTEMPTS = 14;
const backoffMs = (attempt: number) => Math.min(200 * 2 ** (attempt - 1), 3_000) * (0.5 + Math.random() / 2);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The key the orders subgraph authorises a checkout under (checkout.ts paymentKey): one per
 * (user, idempotencyKey), the same for every retry. Recomputed here because it is how the
 * provider's ledger is matched to checkouts; the package does not export it.
 */
const providerKey = (userId: string, idempotencyKey: string) =>
  `chk_${createHash('sha256')
    .update(JSON.stringify([userId, idempotencyKey]))
    .digest('hex')}`;

interface Shopper {
  email: string;
  token: string;
  userId: string;
}

interface Checkout {
  shopper: Shopper;
  idempotencyKey: string;
  providerKey: string;
  lines: Line[];
  attempts: number;
  /** Every error code answered, in order (a retried checkout has several). */
  codes: string[];
  /** The final answer: the order, or the code the client stopped at. */
  order?: { id: string; status: string; total: { amount: string; currency: string } };
  finalCode?: string;
  ms: number;
}

const codeOf = (result: Result) => result.errors?.[0]?.extensions?.code ?? (result.errors ? 'NO_CODE' : undefined);

/** One customer's checkout: retries with the same key and the same payload until an answer is final. */
async function checkOut(checkout: Checkout): Promise<void> {
  const started = performance.now();
  for (;;) {
    checkout.attempts++;
    let code: string | undefined;
    try {
      const result = await placeOrder(checkout.shopper.token, checkout.idempotencyKey, checkout.lines);
      if (result.data?.placeOrder && !result.errors) {
        checkout.order = result.data.placeOrder;
        break;
      }
      code = codeOf(result) ?? `HTTP_${result.status}`;
    } catch {
      // The connection failed (reset, refused): the outcome is unknown, which is what the same key is for.
      code = 'NETWORK';
    }
    checkout.codes.push(code);
    if (!RETRYABLE.has(code) || checkout.attempts >= MAX_ATTEMPTS) {
      checkout.finalCode = code;
      break;
    }
    await sleep(backoffMs(checkout.attempts));
  }
  checkout.ms = performance.now() - started;
}

const SHIP = 'mutation($id: ID!) { shipOrder(id: $id) { id status paymentStatus } }';

/** An operator shipping an order: retried while the provider cannot capture (the circuit may still be open). */
async function ship(admin: string, orderId: string): Promise<Result> {
  for (let attempt = 1; ; attempt++) {
    const result = await query(SHIP, { id: orderId }, { token: admin });
    const code = codeOf(result);
    if (!code || !RETRYABLE.has(code) || attempt >= 20) return result;
    await sleep(Math.min(250 * attempt, 1_500));
  }
}

/** At most `limit` of `tasks` at a time. */
async function pooled<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/**
 * setStock from setup/shop.ts, but waiting for the new level to show through the router: with the
 * event stream (NATS) caches are invalidated when inventory's event arrives, a few hundred ms after
 * the write, and the shared helper reads back at once.
 */
async function setStock(productId: string, units: number): Promise<void> {
  const { warehouses } = await stockOf(productId);
  for (const [i, w] of warehouses.entries()) {
    const delta = (i === 0 ? units : 0) - w.available;
    if (delta === 0) continue;
    const result = await query(
      'mutation($p: ID!, $w: ID!, $d: Int!) { adjustStock(productId: $p, warehouseId: $w, delta: $d) { available } }',
      { p: productId, w: w.warehouse.id, d: delta },
      { token: admin },
    );
    expect(result.errors).toBeUndefined();
  }
  await waitFor(async () => (await stockOf(productId)).available === units, {
    intervalMs: 50,
    message: `${productId}: the router never showed ${units} available`,
  });
}

async function newestOrderIds(token: string): Promise<string[]> {
  const result = await query('{ me { orders(first: 20) { edges { node { id } } } } }', {}, { token });
  expect(result.errors).toBeUndefined();
  return result.data.me.orders.edges.map((e: { node: { id: string } }) => e.node.id);
}

/** Authorise calls the orders subgraph refused without asking the provider (open circuit), from its metrics. */
async function circuitOpenCalls(): Promise<number> {
  const text = await (await fetch(metricsUrlOf(subgraphUrl('orders')))).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('payment_calls_total{') && l.includes('outcome="circuit_open"'))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

let admin: string;
let shoppers: Shopper[];
const checkouts: Checkout[] = [];
const shipped = new Map<string, Result>();
let ledgerBefore: Ledger;
let ledgerAfter: Ledger;
/** The ledger's authorisations made under this file's checkout keys, by key. */
const mine = new Map<string, LedgerEntry[]>();
const ordersBefore = new Map<string, Set<string>>();
const timings: Record<string, number> = {};
const reservedBefore = new Map<string, number>();

beforeAll(async () => {
  let t = performance.now();
  const lap = (name: string) => {
    timings[name] = Math.round(performance.now() - t);
    t = performance.now();
  };
  admin = (await logIn('admin@example.com', 'admin')).token;
  // A few sign-ins at a time: users hashes passwords behind a gate of 8 per client address (RATE_LIMITED past it).
  shoppers = [];
  await pooled(USERS, 4, async (email) => void shoppers.push({ email, ...(await logIn(email, 'password')) }));
  for (const productId of PRODUCTS) {
    await setStock(productId, initialStock(productId));
    // The seed's placed orders hold some of these products: those reservations are not this file's to move.
    reservedBefore.set(productId, (await stockOf(productId)).reserved);
  }
  await pooled(shoppers, 8, async (s) => void ordersBefore.set(s.userId, new Set(await newestOrderIds(s.token))));
  const run = Date.now().toString(36);
  for (let i = 0; i < CHECKOUTS; i++) {
    const shopper = shoppers[i % shoppers.length]!;
    const lines: Line[] = [{ productId: PRODUCTS[i % 20]!, quantity: 1 + (i % 3) }];
    const second = PRODUCTS[(i * 7 + 3) % 20]!;
    if (i % 5 === 0 && second !== lines[0]!.productId) lines.push({ productId: second, quantity: 1 });
    const idempotencyKey = `payments-load-${run}-${i}`;
    checkouts.push({
      shopper,
      idempotencyKey,
      providerKey: providerKey(shopper.userId, idempotencyKey),
      lines,
      attempts: 0,
      codes: [],
      ms: 0,
    });
  }
  lap('setup');

  ledgerBefore = await ledger();
  const circuitOpenBefore = await circuitOpenCalls();
  await setFaults({ errorRate: 0.2, timeoutAfterChargeRate: 0.05, timeoutAfterChargeMs: 4_000 });
  try {
    await Promise.all(checkouts.map(checkOut));
  } finally {
    await setFaults({});
  }
  lap('checkouts');
  timings.circuitOpenCalls = (await circuitOpenCalls()) - circuitOpenBefore;

  const placed = checkouts.filter((c) => c.order);
  await pooled(placed, 8, async (c) => void shipped.set(c.order!.id, await ship(admin, c.order!.id)));
  lap('ships');
  // Inventory turns each reservation into a shipment when it consumes order.shipped.
  const settled = async () =>
    (await Promise.all(PRODUCTS.map(async (p) => (await stockOf(p)).reserved === reservedBefore.get(p)))).every(Boolean);
  await waitFor(settled, {
    timeoutMs: 30_000,
    intervalMs: 200,
    message: 'inventory did not consume every order.shipped (reserved is not back where it was)',
  });
  lap('inventory');

  ledgerAfter = await ledger();
  const keys = new Set(checkouts.map((c) => c.providerKey));
  for (const entry of ledgerAfter.authorizations) {
    if (keys.has(entry.key)) mine.set(entry.key, [...(mine.get(entry.key) ?? []), entry]);
  }
  report();
}, 180_000);

afterAll(async () => {
  await setFaults({});
});

function report(): void {
  const tally = (values: string[]) => Object.fromEntries([...new Set(values)].map((v) => [v, values.filter((x) => x === v).length]));
  const durations = checkouts.map((c) => c.ms).sort((a, b) => a - b);
  const withoutOrder = checkouts.filter((c) => !c.order && mine.has(c.providerKey));
  const d = (field: keyof Ledger['counts']) => ledgerAfter.counts[field] - ledgerBefore.counts[field];
  console.log(
    [
      `payments load: ${checkouts.filter((c) => c.order).length} placed of ${CHECKOUTS}; final errors ${JSON.stringify(
        tally(checkouts.flatMap((c) => c.finalCode ?? [])),
      )}`,
      `  attempts per checkout ${JSON.stringify(tally(checkouts.map((c) => String(c.attempts))))}; ` +
        `errors on the way ${JSON.stringify(tally(checkouts.flatMap((c) => c.codes)))}`,
      `  checkout time p50 ${Math.round(durations[CHECKOUTS / 2]!)} ms, p95 ${Math.round(durations[Math.floor(CHECKOUTS * 0.95)]!)} ms, ` +
        `max ${Math.round(durations.at(-1)!)} ms; phases ${JSON.stringify(timings)}`,
      `  provider: ${d('authorizations')} authorisations, ${d('failed')} injected failures, ${d('timedOutAfterCharge')} timed out ` +
        `after charge, ${d('replayed')} replays, ${d('captured')} captured, ${d('voided')} voided`,
      `  checkouts with no order but an authorisation: ${withoutOrder.length} ` +
        `(${JSON.stringify(tally(withoutOrder.map((c) => `${c.finalCode}:${mine.get(c.providerKey)![0]!.status}`)))})`,
    ].join('\n'),
  );
}

const placedCheckouts = () => checkouts.filter((c) => c.order);

describe('200 concurrent checkouts against a provider failing 20% of calls and timing out after charging on 5%', () => {
  it('ends every checkout in an order, OUT_OF_STOCK, or a retryable error the client gave up on; nothing else', () => {
    const unexpected = checkouts.filter((c) => !c.order && !(c.finalCode === 'OUT_OF_STOCK' || RETRYABLE.has(c.finalCode!)));
    expect(unexpected.map((c) => [c.idempotencyKey, c.codes])).toEqual([]);
    for (const c of placedCheckouts()) expect(c.order).toMatchObject({ status: 'PLACED', total: { currency: 'INR' } });
    // The faults did happen and were survived: the scenario is not vacuous.
    expect(placedCheckouts().length).toBeGreaterThan(CHECKOUTS / 2);
    expect(checkouts.some((c) => c.finalCode === 'OUT_OF_STOCK')).toBe(true);
    // Whether a client sees PAYMENT_UNAVAILABLE is chance (three failed attempts in a row, or the open circuit): reported, not asserted.
    expect(ledgerAfter.counts.failed - ledgerBefore.counts.failed).toBeGreaterThan(0);
    expect(ledgerAfter.counts.timedOutAfterCharge - ledgerBefore.counts.timedOutAfterCharge).toBeGreaterThan(0);
  });

  it('made one order per successful checkout, and no order a client was not told about', async () => {
    const ids = placedCheckouts().map((c) => c.order!.id);
    expect(new Set(ids).size).toBe(ids.length);
    await pooled(shoppers, 8, async (s) => {
      const told = placedCheckouts()
        .filter((c) => c.shopper === s)
        .map((c) => c.order!.id)
        .sort();
      const created = (await newestOrderIds(s.token)).filter((id) => !ordersBefore.get(s.userId)!.has(id)).sort();
      expect(created, s.email).toEqual(told);
    });
  });

  it('charges captured = orders shipped', () => {
    for (const [id, result] of shipped) {
      expect(result.errors, id).toBeUndefined();
      expect(result.data.shipOrder).toEqual({ id, status: 'SHIPPED', paymentStatus: 'CAPTURED' });
    }
    expect(shipped.size).toBe(placedCheckouts().length);
    const captured = [...mine.values()].flat().filter((a) => a.status === 'captured');
    expect(captured.length).toBe(shipped.size);
    expect(ledgerAfter.counts.captured - ledgerBefore.counts.captured).toBe(shipped.size);
  });

  it('charged no checkout twice: one authorisation per provider key, captured once, at the order total', () => {
    for (const [key, entries] of mine) expect(entries.length, key).toBe(1);
    // Every authorisation made meanwhile is one of these checkouts' (no attempt used another key).
    expect(ledgerAfter.counts.authorizations - ledgerBefore.counts.authorizations).toBe(mine.size);
    for (const c of placedCheckouts()) {
      const [entry] = mine.get(c.providerKey)!;
      expect(entry).toMatchObject({ status: 'captured', captures: 1, voids: 0, currency: 'INR' });
      expect(cents(entry!.amount)).toBe(cents(c.order!.total.amount));
    }
    // Per customer: what they were charged is what their shipped orders cost.
    for (const s of shoppers) {
      const charged = placedCheckouts()
        .filter((c) => c.shopper === s)
        .reduce((sum, c) => sum + cents(mine.get(c.providerKey)![0]!.amount), 0);
      const owed = placedCheckouts()
        .filter((c) => c.shopper === s)
        .reduce((sum, c) => sum + cents(c.order!.total.amount), 0);
      expect(charged, s.email).toBe(owed);
    }
  });

  it('leaves no authorisation of a checkout without an order captured (held until the sweeper voids it)', () => {
    for (const c of checkouts.filter((x) => !x.order && mine.has(x.providerKey))) {
      const [entry] = mine.get(c.providerKey)!;
      expect(['authorised', 'voided'], c.idempotencyKey).toContain(entry!.status);
      expect(entry!.captures).toBe(0);
    }
  });

  it('has no order without an authorisation: every order reads CAPTURED after the ship', async () => {
    for (const c of placedCheckouts()) expect(mine.get(c.providerKey), c.order!.id).toHaveLength(1);
    const read = 'query($id: ID!) { order(id: $id) { id status paymentStatus } }';
    await pooled(placedCheckouts(), 10, async (c) => {
      const result = await query(read, { id: c.order!.id }, { token: c.shopper.token });
      expect(result.errors).toBeUndefined();
      expect(result.data.order).toEqual({ id: c.order!.id, status: 'SHIPPED', paymentStatus: 'CAPTURED' });
    });
  });

  it('keeps stock exact to the unit: available = initial − units ordered, no reservation left behind', async () => {
    for (const productId of PRODUCTS) {
      const ordered = placedCheckouts()
        .flatMap((c) => c.lines)
        .filter((l) => l.productId === productId)
        .reduce((sum, l) => sum + l.quantity, 0);
      expect(await stockOf(productId), productId).toMatchObject({
        available: initialStock(productId) - ordered,
        reserved: reservedBefore.get(productId),
      });
    }
  });
});
