import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ConfigError, DEFAULT_LISTENER_TIMEOUTS, readListenerTimeouts } from '@shop/platform';
import { closedBy, rawClients } from '@shop/platform/testing';
import { readSubgraphBaseConfig } from '../src/subgraph-config.ts';
import { tinySubgraph } from './tiny-subgraph.ts';

describe('listener timeouts (F9)', () => {
  let app: FastifyInstance;
  let port: number;
  const clients = rawClients(() => port);

  beforeAll(async () => {
    // Tiny bounds so the test is quick; the defaults are seconds (DEFAULT_LISTENER_TIMEOUTS).
    app = await tinySubgraph({
      production: true,
      routerSecret: 's',
      listener: { headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 300 },
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    clients.close();
    await app?.close();
  });

  it('cuts a client that promises a 100 kB body and trickles it one byte at a time', async () => {
    const answer = await clients.slow(
      'POST /graphql HTTP/1.1\r\nHost: tiny\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
      ' ',
      100,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408|^$/);
  });

  it('cuts a client that trickles its headers', async () => {
    await clients.slow('GET /health HTTP/1.1\r\nHost: tiny\r\nX-Slow: ', 'a', 50);
  });

  it('closes a connection that never sends anything', async () => {
    await closedBy(clients.open(), 15_000);
  });

  it('closes an idle keep-alive connection after its response', async () => {
    const client = clients.open();
    client.write('GET /health HTTP/1.1\r\nHost: tiny\r\nConnection: keep-alive\r\n\r\n');
    const answer = await closedBy(client, 15_000);
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer).toContain('"status":"ok"');
  });

  it('still answers a request that arrives in time', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    expect(res.status).toBe(200);
  });
});

describe('listener timeout configuration', () => {
  it('has bounded defaults and reads HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS', () => {
    expect(readListenerTimeouts({})).toEqual(DEFAULT_LISTENER_TIMEOUTS);
    expect(DEFAULT_LISTENER_TIMEOUTS.headersTimeoutMs).toBeGreaterThan(0);
    expect(
      readSubgraphBaseConfig({ HEADERS_TIMEOUT_MS: '2000', REQUEST_TIMEOUT_MS: '5000', KEEP_ALIVE_TIMEOUT_MS: '6000' }, 'tiny', 1).listener,
    ).toEqual({ headersTimeoutMs: 2000, requestTimeoutMs: 5000, keepAliveTimeoutMs: 6000 });
  });

  it('refuses zero (no bound), non-numbers and a headers timeout above the request timeout', () => {
    for (const env of [
      { REQUEST_TIMEOUT_MS: '0' },
      { HEADERS_TIMEOUT_MS: 'soon' },
      { KEEP_ALIVE_TIMEOUT_MS: '-1' },
      { HEADERS_TIMEOUT_MS: '9000', REQUEST_TIMEOUT_MS: '8000' },
    ]) {
      expect(() => readListenerTimeouts(env)).toThrow(ConfigError);
    }
  });
});
