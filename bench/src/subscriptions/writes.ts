/**
 * The writes `npm run bench:subscriptions` drives through the router while the subscribers listen:
 * an admin's list-price changes on the hot products and customers' orders, each at a fixed arrival
 * rate (open loop, at most `concurrency` in flight; an arrival finding them all busy is not sent,
 * and counted). Every write is kept with when it was sent and when its answer came back.
 */
import type { Session } from '../graphql.ts';

const SET_LIST_PRICE =
  'mutation BenchSetListPrice($p: ID!, $a: String!) { setListPrice(productId: $p, region: IN, amount: $a) { id listPrice(region: IN) { amount } } }';
const PLACE_ORDER = 'mutation BenchPlaceOrder($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }';

export interface PriceWrite {
  productId: string;
  amount: string;
  sentAt: number;
  answeredAt?: number | undefined;
  ok: boolean;
}

export interface OrderWrite {
  userId: string;
  orderId?: string | undefined;
  sentAt: number;
  answeredAt?: number | undefined;
  ok: boolean;
}

export interface WriteLoad<W> {
  writes: W[];
  offered: number;
  notSent: number;
  failed: Record<string, number>;
}

/** Distinct per write (500.00, 500.01, …), so a result names the write it shows. */
export const amountOfWrite = (i: number) => (500 + i / 100).toFixed(2);

async function gql(url: string, token: string, query: string, variables: Record<string, unknown>) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await res.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] };
  return { status: res.status, body };
}

/** Runs `fire(i)` `rate` times a second for `seconds`, at most `concurrency` at once. */
async function openLoop<W>(
  rate: number,
  seconds: number,
  concurrency: number,
  fire: (i: number, fail: (code: string) => void) => Promise<W>,
): Promise<WriteLoad<W>> {
  const load: WriteLoad<W> = { writes: [], offered: 0, notSent: 0, failed: {} };
  const fail = (code: string) => void (load.failed[code] = (load.failed[code] ?? 0) + 1);
  const inFlight = new Set<Promise<void>>();
  const total = Math.round(rate * seconds);
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const wait = started + (i * 1_000) / rate - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    load.offered++;
    if (inFlight.size >= concurrency) {
      load.notSent++;
      continue;
    }
    const request = fire(i, fail).then((write) => void load.writes.push(write));
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  }
  await Promise.all(inFlight);
  return load;
}

export function priceWrites(
  routerUrl: string,
  admin: Session,
  hot: readonly string[],
  o: { rate: number; seconds: number; concurrency: number },
): Promise<WriteLoad<PriceWrite>> {
  return openLoop(o.rate, o.seconds, o.concurrency, async (i, fail) => {
    const write: PriceWrite = { productId: hot[i % hot.length] as string, amount: amountOfWrite(i), sentAt: performance.now(), ok: false };
    try {
      const { status, body } = await gql(routerUrl, admin.token, SET_LIST_PRICE, { p: write.productId, a: write.amount });
      write.answeredAt = performance.now();
      if (status === 200 && !body.errors?.length && body.data?.setListPrice?.listPrice?.amount === write.amount) write.ok = true;
      else fail(body.errors?.[0]?.extensions?.code ?? `HTTP ${status}`);
    } catch (error) {
      fail(error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : 'no answer');
    }
    return write;
  });
}

export function orderWrites(
  routerUrl: string,
  customers: readonly Session[],
  products: readonly string[],
  runId: string,
  o: { rate: number; seconds: number; concurrency: number },
): Promise<WriteLoad<OrderWrite>> {
  return openLoop(o.rate, o.seconds, o.concurrency, async (i, fail) => {
    const customer = customers[i % customers.length] as Session;
    const write: OrderWrite = { userId: customer.userId, sentAt: performance.now(), ok: false };
    const input = {
      idempotencyKey: `bench-subscriptions-${runId}-${i}`,
      region: 'IN',
      paymentMethod: 'tok_visa',
      lines: [{ productId: products[i % products.length], quantity: 1 }],
    };
    try {
      const { status, body } = await gql(routerUrl, customer.token, PLACE_ORDER, { input });
      write.answeredAt = performance.now();
      const id = body.data?.placeOrder?.id as string | undefined;
      if (status === 200 && !body.errors?.length && id) {
        write.orderId = id;
        write.ok = true;
      } else fail(body.errors?.[0]?.extensions?.code ?? `HTTP ${status}`);
    } catch (error) {
      fail(error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : 'no answer');
    }
    return write;
  });
}
