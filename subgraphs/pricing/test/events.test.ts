import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ADMIN_USER_ID } from '@shop/domain';
import { createEnvelope, type EventEnvelope, type EventStream, event, openEventStream } from '@shop/events';
import { createLogger } from '@shop/platform';
import { testCache } from '@shop/platform/testing';
import { createWrite, databaseOf, openPglite, SMALL_SEED, type Write } from '@shop/subgraph-kit';
import { asUser, ENTITIES_QUERY, gql } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { tickPromotions } from '../src/promotion-ticker.ts';
import { buildServer } from '../src/server.ts';

/**
 * Pricing's events: what each write queues in its outbox (price.changed, promotion.started,
 * promotion.ended), the ticker that announces promotions whose time passed, and the
 * product.discontinued consumer that stops a product being quoted. Products are the run's own
 * (ids no seed uses) and promotions are in ME under the prefix pricing.test.ts ignores, so the file
 * passes on a shared, persistent database; the stream is the file's own (NATS_STREAM).
 *
 * The server's own ticker runs hourly here, so the tests drive ticks themselves (tickPromotions
 * over the server's database); one test builds a replica ticking every 20 ms to show the
 * background ticker does the same. "Time passes" by moving a promotion's times into the past.
 */
const SECRET = 'pricing-events-secret';
const TRUSTED = { 'x-router-secret': SECRET };
const ADMIN = asUser(ADMIN_USER_ID, ['admin'], SECRET);
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const RUN_BASE = 100_000_000 + Math.floor(Math.random() * 800_000_000);
let made = 0;
const newProduct = () => `p${RUN_BASE + made++}`;
const NAME_PREFIX = 'Checkout test events';
const CONSUMER = 'pricing-discontinued-products';

const cache = testCache();
const env = (stream: string, tickMs: number) => ({
  ROUTER_SECRET: SECRET,
  PRICING_DATABASE_URL: process.env.PRICING_DATABASE_URL,
  NATS_STREAM: stream,
  PROMOTION_TICK_MS: String(tickMs),
  ...cache.env,
});
const ENV = env(`PRICING_EVENTS_${RUN}`, 3_600_000);
const logger = createLogger('pricing', 'silent');
let pglite: Awaited<ReturnType<typeof openPglite>> | undefined;
let app: FastifyInstance;
let stream: EventStream;
/** A write over the server's database, as its ticker has (no request loaders; no cache to drop in a test). */
let write: Write;

beforeAll(async () => {
  pglite = process.env.PRICING_DATABASE_URL ? undefined : await openPglite();
  app = await buildServer({ config: readConfig(ENV), pglite, seedSize: SMALL_SEED, logger });
  stream = await openEventStream({ ...readConfig(ENV).events, logger: createLogger('test', 'silent') });
  write = createWrite({ db: databaseOf(app), schema: 'pricing', bus: { publish: async () => {} }, logger });
});
afterAll(async () => {
  await stream?.close();
  await app?.close();
  await pglite?.close();
  await cache.cleanup();
});

const db = () => databaseOf(app);
const codeOf = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;
const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;

interface OutboxEvent {
  type: string;
  data: Record<string, unknown>;
  tags: string[];
}
/** The events pricing queued about these aggregates (products, promotions), oldest first. */
async function outboxOf(...ids: string[]): Promise<OutboxEvent[]> {
  const rows = await db().query<{ type: string; data: unknown; tags: unknown }>(
    'SELECT type, data, tags FROM pricing.outbox WHERE aggregate_id = ANY($1::text[]) ORDER BY position',
    [ids],
  );
  return rows.map((r) => ({ type: r.type, data: json(r.data), tags: json(r.tags) }));
}
const typesOf = async (id: string) => (await outboxOf(id)).map((e) => e.type);

/** Polls until `check` holds; a bound on the wait, not a timing assertion. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const SET_LIST_PRICE = `mutation($id: ID!, $amount: String!) { setListPrice(productId: $id, region: ME, amount: $amount) { id } }`;
const PROMOTION_FIELDS = 'id name region discountPercent startsAt endsAt active';
const CREATE_PROMOTION = `mutation($input: CreatePromotionInput!) { createPromotion(input: $input) { ${PROMOTION_FIELDS} } }`;
const END_PROMOTION = `mutation($id: ID!) { endPromotion(id: $id) { ${PROMOTION_FIELDS} } }`;
const QUOTE = `query($ids: [ID!]!) { quote(region: ME, productIds: $ids) { productId unitPrice { amount } listPrice { amount } promotionId } }`;
const SHOWN = ENTITIES_QUERY(
  '... on Product { id price(region: ME) { amount } listPrice(region: ME) { amount } activePromotion(region: ME) { id } }',
);

async function setListPrice(id: string, amount: string) {
  const res = await gql(app, SET_LIST_PRICE, { id, amount }, ADMIN);
  expect(res.errors).toBeUndefined();
}

let promotions = 0;
async function createPromotion(productIds: string[], times: { startsAt?: string; endsAt?: string } = {}) {
  const input = {
    name: `${NAME_PREFIX} ${RUN} ${++promotions}`,
    region: 'ME',
    discountPercent: 20,
    endsAt: new Date(Date.now() + 365 * 86_400_000).toISOString(),
    productIds,
    ...times,
  };
  const res = await gql(app, CREATE_PROMOTION, { input }, ADMIN);
  expect(res.errors).toBeUndefined();
  return res.data!.createPromotion as { id: string; startsAt: string; endsAt: string; active: boolean };
}

/** Moves a promotion's times by the database clock, as if that much time had passed. */
const TOMORROW = () => new Date(Date.now() + 86_400_000).toISOString();
async function startedAgo(id: string) {
  await db().query(`UPDATE pricing.promotion SET starts_at = now() - interval '1 second' WHERE id = $1`, [id]);
}
async function endedAgo(id: string) {
  await db().query(
    `UPDATE pricing.promotion SET starts_at = least(starts_at, now() - interval '2 seconds'), ends_at = now() - interval '1 second' WHERE id = $1`,
    [id],
  );
}

const startedEvent = (promotion: { id: string; startsAt: string; endsAt: string }, productIds: string[]): OutboxEvent => ({
  type: 'promotion.started',
  data: {
    promotionId: promotion.id,
    region: 'ME',
    discountPercent: 20,
    productIds,
    startsAt: promotion.startsAt,
    endsAt: promotion.endsAt,
  },
  tags: ['Promotion', `Promotion:${promotion.id}`, ...productIds.map((p) => `Product:${p}`)],
});

describe('price.changed', () => {
  it('setListPrice queues one event per change of price, tagged with the product; none for the same price again', async () => {
    const p = newProduct();
    await setListPrice(p, '12.5');
    await setListPrice(p, '12.50');
    await setListPrice(p, '13.00');
    expect(await outboxOf(p)).toEqual([
      { type: 'price.changed', data: { productId: p, region: 'ME', currency: 'AED', amount: '12.50' }, tags: [`Product:${p}`] },
      { type: 'price.changed', data: { productId: p, region: 'ME', currency: 'AED', amount: '13.00' }, tags: [`Product:${p}`] },
    ]);
  });

  it('queues nothing for a refused write', async () => {
    const p = newProduct();
    expect(codeOf(await gql(app, SET_LIST_PRICE, { id: p, amount: '-1' }, ADMIN))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(app, SET_LIST_PRICE, { id: p, amount: '1.00' }, asUser('u5', [], SECRET)))).toBe('FORBIDDEN');
    expect(codeOf(await gql(app, SET_LIST_PRICE, { id: p, amount: '1.00' }))).toBe('UNAUTHENTICATED');
    expect(await outboxOf(p)).toEqual([]);
  });
});

describe('promotion.started and promotion.ended', () => {
  it('an active promotion starts at creation and ends when an admin ends it, once each', async () => {
    const [a, b] = [newProduct(), newProduct()];
    const promotion = await createPromotion([b, a]);
    expect(promotion.active).toBe(true);
    const sorted = [a, b].sort();
    expect(await outboxOf(promotion.id)).toEqual([startedEvent(promotion, [b, a])]);

    const ended = (await gql(app, END_PROMOTION, { id: promotion.id }, ADMIN)).data!.endPromotion;
    await gql(app, END_PROMOTION, { id: promotion.id }, ADMIN);
    await tickPromotions(write);
    const events = await outboxOf(promotion.id);
    expect(events).toHaveLength(2);
    expect(events[1]).toEqual({
      type: 'promotion.ended',
      data: { promotionId: promotion.id, region: 'ME', productIds: sorted, endedAt: ended.endsAt },
      tags: ['Promotion', `Promotion:${promotion.id}`, ...sorted.map((p) => `Product:${p}`)],
    });
  });

  it('a scheduled promotion starts when the ticker sees its start pass and ends when it sees its end pass, once each', async () => {
    const p = newProduct();
    const promotion = await createPromotion([p], { startsAt: TOMORROW(), endsAt: new Date(Date.now() + 2 * 86_400_000).toISOString() });
    expect(promotion.active).toBe(false);
    await tickPromotions(write);
    // Announced as scheduled (lists of promotions change; no price does), not started.
    const [scheduled] = await outboxOf(promotion.id);
    expect(scheduled).toMatchObject({ type: 'promotion.scheduled', tags: ['Promotion', `Promotion:${promotion.id}`] });
    expect(scheduled!.data).toMatchObject({ promotionId: promotion.id, productIds: [p] });
    expect(await typesOf(promotion.id)).toEqual(['promotion.scheduled']);

    await startedAgo(promotion.id);
    await tickPromotions(write);
    await tickPromotions(write);
    // Another test file's server may have claimed it (a shared database): the event is there once either way.
    await until('started', async () => (await typesOf(promotion.id)).length > 1);
    const [, started] = await outboxOf(promotion.id);
    expect(started!.type).toBe('promotion.started');
    expect(started!.data).toMatchObject({ promotionId: promotion.id, productIds: [p] });
    expect(started!.tags).toEqual(['Promotion', `Promotion:${promotion.id}`, `Product:${p}`]);

    await endedAgo(promotion.id);
    await tickPromotions(write);
    await tickPromotions(write);
    await until('ended', async () => (await typesOf(promotion.id)).length > 2);
    await tickPromotions(write);
    expect(await typesOf(promotion.id)).toEqual(['promotion.scheduled', 'promotion.started', 'promotion.ended']);
  });

  it('a whole window passed between two ticks is announced as started, then ended', async () => {
    const promotion = await createPromotion([newProduct()], { startsAt: TOMORROW() });
    await endedAgo(promotion.id);
    await tickPromotions(write);
    await until('announced', async () => (await typesOf(promotion.id)).length > 2);
    expect(await typesOf(promotion.id)).toEqual(['promotion.scheduled', 'promotion.started', 'promotion.ended']);
  });

  it('a promotion created already over never applied to a price: announced as scheduled only, nothing at a tick', async () => {
    const promotion = await createPromotion([newProduct()], { startsAt: '2020-01-01T00:00:00Z', endsAt: '2020-01-02T00:00:00Z' });
    await tickPromotions(write);
    expect(await typesOf(promotion.id)).toEqual(['promotion.scheduled']);
  });

  it('a scheduled promotion ended by an admin is announced ended, and never started by the ticker', async () => {
    const promotion = await createPromotion([newProduct()], { startsAt: TOMORROW() });
    expect((await gql(app, END_PROMOTION, { id: promotion.id }, ADMIN)).errors).toBeUndefined();
    await tickPromotions(write);
    expect(await typesOf(promotion.id)).toEqual(['promotion.scheduled', 'promotion.ended']);
  });

  it('queues nothing for a refused promotion', async () => {
    const before = (await db().query<{ n: number }>(`SELECT count(*)::int AS n FROM pricing.outbox WHERE type LIKE 'promotion.%'`))[0]!.n;
    const input = { name: `${NAME_PREFIX} refused`, region: 'ME', discountPercent: 95, endsAt: TOMORROW(), productIds: [newProduct()] };
    expect(codeOf(await gql(app, CREATE_PROMOTION, { input }, ADMIN))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(app, CREATE_PROMOTION, { input: { ...input, discountPercent: 10 } }, asUser('u5', [], SECRET)))).toBe(
      'FORBIDDEN',
    );
    const after = (await db().query<{ n: number }>(`SELECT count(*)::int AS n FROM pricing.outbox WHERE type LIKE 'promotion.%'`))[0]!.n;
    // On a shared database another file may add promotion events meanwhile, never fewer.
    if (!process.env.PRICING_DATABASE_URL) expect(after).toBe(before);
  });

  it('the background ticker announces a start by itself (PROMOTION_TICK_MS)', async () => {
    const replica = await buildServer({ config: readConfig(env(`PRICING_EVENTS_${RUN}_TICK`, 20)), pglite, seedSize: SMALL_SEED, logger });
    try {
      const promotion = await createPromotion([newProduct()], { startsAt: TOMORROW() });
      await startedAgo(promotion.id);
      await until('the ticker announced the start', async () => (await typesOf(promotion.id)).length > 1);
      expect(await typesOf(promotion.id)).toEqual(['promotion.scheduled', 'promotion.started']);
    } finally {
      await replica.close();
    }
  });
});

describe('product.discontinued consumer', () => {
  const discontinued = (productId: string) =>
    createEnvelope(event('product.discontinued', productId, { productId }, [`Product:${productId}`, 'Product']));
  const rowsOf = (productId: string) =>
    db().query<{ eventId: string }>('SELECT event_id::text AS "eventId" FROM pricing.discontinued_product WHERE product_id = $1', [
      productId,
    ]);
  const processed = async (eventId: string) =>
    (await db().query('SELECT 1 FROM pricing.processed_events WHERE consumer = $1 AND event_id = $2', [CONSUMER, eventId])).length;

  async function deliver(envelope: EventEnvelope, via = stream) {
    await via.publish([envelope]);
    await until(`event ${envelope.id} processed`, async () => (await processed(envelope.id)) === 1);
  }

  it('stops quoting a discontinued product: checkout gets no unit price, shoppers no price; the list price stays', async () => {
    const [gone, kept] = [newProduct(), newProduct()];
    await setListPrice(gone, '40.00');
    await setListPrice(kept, '10.00');
    const promotion = await createPromotion([gone]);
    const before = (await gql(app, QUOTE, { ids: [gone, kept] }, TRUSTED)).data!.quote;
    expect(before[0]).toEqual({
      productId: gone,
      unitPrice: { amount: '32.00' },
      listPrice: { amount: '40.00' },
      promotionId: promotion.id,
    });

    await deliver(discontinued(gone));
    const after = await gql(app, QUOTE, { ids: [gone, kept] }, TRUSTED);
    expect(after.data!.quote).toEqual([
      { productId: gone, unitPrice: null, listPrice: { amount: '40.00' }, promotionId: null },
      { productId: kept, unitPrice: { amount: '10.00' }, listPrice: { amount: '10.00' }, promotionId: null },
    ]);
    const shown = await gql(app, SHOWN, { representations: [{ __typename: 'Product', id: gone }] });
    expect(shown.data!._entities).toEqual([
      { __typename: 'Product', id: gone, price: null, listPrice: { amount: '40.00' }, activePromotion: null },
    ]);

    // Re-pricing it does not put it back on sale.
    await setListPrice(gone, '45.00');
    expect((await gql(app, QUOTE, { ids: [gone] }, TRUSTED)).data!.quote[0].unitPrice).toBeNull();
    await gql(app, END_PROMOTION, { id: promotion.id }, ADMIN);
  });

  it('is idempotent: the same event twice (and a second replica seeing it again) makes one row and no events', async () => {
    const p = newProduct();
    await setListPrice(p, '5.00');
    const envelope = discontinued(p);
    await deliver(envelope);
    // The stream drops a re-publish of an id it holds.
    await stream.publish([envelope]);
    // A second replica with a stream of its own is how the same id comes twice past the stream
    // (JetStream's duplicate window passed, the relay republished): its consumer finds the row.
    const replicaEnv = env(`PRICING_EVENTS_${RUN}_B`, 3_600_000);
    const replica = await buildServer({ config: readConfig(replicaEnv), pglite, seedSize: SMALL_SEED, logger });
    const replicaStream = await openEventStream({ ...readConfig(replicaEnv).events, logger: createLogger('test', 'silent') });
    try {
      await replicaStream.publish([envelope]);
      await until('the replica saw it as a duplicate', async () => (await counter(replica, 'duplicate')) === 1);
      expect(await counter(replica, 'processed')).toBe(0);
    } finally {
      await replicaStream.close();
      await replica.close();
    }
    // Another event about the same product (the products subgraph republished it) changes nothing more.
    const again = discontinued(p);
    await deliver(again);

    expect(await rowsOf(p)).toEqual([{ eventId: envelope.id }]);
    expect(await processed(envelope.id)).toBe(1);
    // Its only events are the price it was given.
    expect((await outboxOf(p)).map((e) => e.type)).toEqual(['price.changed']);
    expect((await gql(app, QUOTE, { ids: [p] }, TRUSTED)).data!.quote[0].unitPrice).toBeNull();
  });
});

/** events_consumed_total of the discontinued-products consumer with this outcome. */
async function counter(server: FastifyInstance, outcome: string): Promise<number> {
  const text = (await server.inject({ method: 'GET', url: '/metrics' })).body;
  return text
    .split('\n')
    .filter(
      (line) =>
        line.startsWith('events_consumed_total{') && line.includes(`consumer="${CONSUMER}"`) && line.includes(`outcome="${outcome}"`),
    )
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}
