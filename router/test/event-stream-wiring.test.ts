import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type * as Events from '@shop/events';
import { representationsOf, startFakeSubgraph, type FakeSubgraph } from './support/fake-subgraph.ts';
import { buildTinyRouter } from './support/tiny-router.ts';

/**
 * How the router wires the event stream (stages/entity-cache.ts, cache/create.ts): it opens one
 * stream at build time with the configured NATS settings and its event metrics, takes its caches'
 * bus from openInvalidationBus over that stream, and closes the stream when it closes. The real
 * functions run; the spies only watch them.
 */
const seen = vi.hoisted(() => ({
  opened: [] as { options: Record<string, unknown>; stream: { close(): Promise<void> } }[],
  buses: [] as Record<string, unknown>[],
  closed: 0,
}));

vi.mock('@shop/events', async (importOriginal) => {
  const actual = await importOriginal<typeof Events>();
  return {
    ...actual,
    openEventStream: async (options: Parameters<typeof Events.openEventStream>[0]) => {
      const stream = await actual.openEventStream(options);
      const close = stream.close.bind(stream);
      const watched = Object.assign(Object.create(stream) as Events.EventStream, {
        close: async () => {
          seen.closed++;
          await close();
        },
      });
      seen.opened.push({ options, stream: watched });
      return watched;
    },
    openInvalidationBus: (options: Parameters<typeof Events.openInvalidationBus>[0]) => {
      seen.buses.push(options);
      return actual.openInvalidationBus(options);
    },
  };
});

let products: FakeSubgraph;
let pricing: FakeSubgraph;
beforeAll(async () => {
  products = await startFakeSubgraph(() => ({ body: { data: { products: [] } }, cacheControl: 'public, max-age=60' }));
  pricing = await startFakeSubgraph((request) => ({
    body: { data: { _entities: representationsOf(request).map(() => ({ price: 1 })) } },
    cacheControl: 'public, max-age=60',
  }));
});
afterAll(async () => {
  await products?.close();
  await pricing?.close();
});
beforeEach(() => {
  seen.opened.length = 0;
  seen.buses.length = 0;
  seen.closed = 0;
});

describe('the router and the event stream', () => {
  it('opens one stream with NATS_STREAM and NATS_SUBJECT_PREFIX, builds its bus on it, and closes it on close', async () => {
    const router = await buildTinyRouter(
      { products, pricing },
      { ROUTER_CACHE: 'true', NATS_STREAM: 'ROUTER_WIRING', NATS_SUBJECT_PREFIX: 'wiring', CACHE_KEY_PREFIX: 'wiring-test:' },
    );
    try {
      expect(seen.opened).toHaveLength(1);
      const { options, stream } = seen.opened[0]!;
      expect(options).toMatchObject({ natsUrl: undefined, stream: 'ROUTER_WIRING', subjectPrefix: 'wiring' });
      // Its metrics are the router's: what the follower counts shows on the router's /metrics.
      expect(options.metrics).toBe(router.metrics.events);
      expect(seen.buses).toHaveLength(1);
      expect(seen.buses[0]).toMatchObject({ redisUrl: undefined, channel: 'wiring-test:invalidate' });
      expect(seen.buses[0]!.stream).toBe(stream);
      expect(seen.closed).toBe(0);
    } finally {
      await router.close();
    }
    expect(seen.closed).toBe(1);
  });

  it('opens no stream when the router caches nothing and serves no subscriptions', async () => {
    const router = await buildTinyRouter({ products, pricing }, { ROUTER_CACHE: 'false', SUBSCRIPTIONS: 'false' });
    await router.close();
    expect(seen.opened).toHaveLength(0);
    expect(seen.buses).toHaveLength(0);
  });

  it('opens the stream for subscriptions alone, without a cache bus, and closes it', async () => {
    const router = await buildTinyRouter({ products, pricing }, { ROUTER_CACHE: 'false' });
    expect(seen.opened).toHaveLength(1);
    await router.close();
    expect(seen.buses).toHaveLength(0);
    expect(seen.closed).toBe(1);
  });
});
