import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { describe, expect, it } from 'vitest';
import { PRODUCT_LIVE, type SubscriptionRouter, waitFor, waitForActive, subscriptionSuite } from './support/subscriptions.ts';

/**
 * Apollo's multipart HTTP subscriptions on `/graphql` (what Apollo Client's HttpLink sends a
 * subscription with when there is no WebSocket link): Apollo Client itself as the client, and raw
 * fetch where the framing is under test.
 */
const suite = subscriptionSuite();
const { cleanup, routerWith } = suite;

const ACCEPT = 'multipart/mixed;subscriptionSpec="1.0", application/json';

/** A multipart subscription read part by part (each part's JSON), until the final boundary. */
async function openMultipart(target: SubscriptionRouter, body: unknown) {
  const controller = new AbortController();
  cleanup.push(() => controller.abort());
  const response = await fetch(`${target.httpUrl}/graphql`, {
    method: 'POST',
    headers: { accept: ACCEPT, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: controller.signal,
  });
  let text = '';
  let ended = false;
  const reading = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body!) text += decoder.decode(chunk as Uint8Array, { stream: true });
    } catch {
      // aborted by the cleanup
    }
    ended = true;
  })();
  const parts = () =>
    text
      .split('\r\n--graphql')
      .slice(1)
      .filter((part) => part.startsWith('\r\n'))
      .map((part) => JSON.parse(part.slice(part.indexOf('\r\n\r\n') + 4)) as Record<string, any>);
  return { response, parts, text: () => text, ended: () => ended, reading };
}

describe('multipart HTTP subscriptions', () => {
  it('Apollo Client over HttpLink alone gets each update of its subscription', async () => {
    const target = await routerWith();
    const client = new ApolloClient({ link: new HttpLink({ uri: `${target.httpUrl}/graphql` }), cache: new InMemoryCache() });
    cleanup.push(() => client.stop());
    const results: unknown[] = [];
    const errors: unknown[] = [];
    const subscription = client
      .subscribe({ query: gql(PRODUCT_LIVE), variables: { ids: ['p1', 'p2'] } })
      .subscribe({ next: (result) => results.push(result.data), error: (error) => errors.push(error) });
    cleanup.push(() => subscription.unsubscribe());
    await waitForActive(target, 1);
    await target.publish('product.updated', 'p2', { productId: 'p2', changed: ['name'] });
    await waitFor('a result', () => results.length === 1);
    expect(results[0]).toEqual({ productUpdated: { __typename: 'Product', id: 'p2', name: 'Product p2', blob: '' } });
    await target.publish('product.updated', 'p1', { productId: 'p1', changed: ['name'] });
    await waitFor('a second result', () => results.length === 2);
    expect(results[1]).toMatchObject({ productUpdated: { id: 'p1' } });
    expect(errors).toEqual([]);
    // Unsubscribing closes the request: the router ends the subscription.
    subscription.unsubscribe();
    await waitForActive(target, 0);
  });

  it('frames parts as Apollo does: multipart/mixed boundary "graphql", a heartbeat `{}` at once and per keep-alive, results as `payload`', async () => {
    const target = await routerWith({ SUBSCRIPTION_KEEPALIVE_MS: '100' });
    const stream = await openMultipart(target, { query: PRODUCT_LIVE, variables: { ids: ['p1'] } });
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toBe('multipart/mixed; boundary="graphql"; subscriptionSpec="1.0"');
    await waitForActive(target, 1);
    await waitFor('heartbeats', () => stream.parts().filter((part) => Object.keys(part).length === 0).length >= 2);
    await target.publish('product.updated', 'p1', { productId: 'p1', changed: ['name'] });
    await waitFor('a result part', () => stream.parts().some((part) => part.payload));
    expect(stream.parts().find((part) => part.payload)).toEqual({
      payload: { data: { productUpdated: { id: 'p1', name: 'Product p1', blob: '' } } },
    });
  });

  it('a subscription refused for what it asks gets one part with the errors, then the final boundary', async () => {
    const target = await routerWith({ SUBSCRIPTION_MAX_PRODUCT_IDS: '1' });
    const stream = await openMultipart(target, { query: PRODUCT_LIVE, variables: { ids: ['p1', 'p2'] } });
    await stream.reading;
    expect(stream.text().endsWith('\r\n--graphql--\r\n')).toBe(true);
    const [part] = stream.parts();
    expect(part!.payload.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', maxIds: 1 });
    expect(await target.metric('subscriptionsActive')).toBe(0);
  });

  it('on shutdown a running subscription gets a last SHUTTING_DOWN error and the final boundary', async () => {
    const target = await routerWith();
    const stream = await openMultipart(target, { query: PRODUCT_LIVE, variables: { ids: ['p1'] } });
    await waitForActive(target, 1);
    await target.close();
    await stream.reading;
    expect(stream.text().endsWith('\r\n--graphql--\r\n')).toBe(true);
    const last = stream.parts().at(-1)!;
    expect(last.payload).toBeNull();
    expect(last.errors[0].extensions.code).toBe('SHUTTING_DOWN');
  });

  it('without the subscriptionSpec Accept, a subscription POSTed to /graphql is still refused 400', async () => {
    const target = await routerWith();
    const response = await fetch(`${target.httpUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: PRODUCT_LIVE, variables: { ids: ['p1'] } }),
    });
    expect(response.status).toBe(400);
  });
});
