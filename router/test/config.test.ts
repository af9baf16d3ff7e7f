import { describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.ts';

describe('router config', () => {
  it('defaults to the local subgraph ports and derives the JWKS URL from the users URL', () => {
    const config = readConfig({});
    expect(config.port).toBe(4000);
    expect(config.subgraphUrls).toEqual({
      products: 'http://localhost:4001/graphql',
      inventory: 'http://localhost:4002/graphql',
      pricing: 'http://localhost:4003/graphql',
      users: 'http://localhost:4004/graphql',
      orders: 'http://localhost:4005/graphql',
    });
    expect(config.jwksUrl).toBe('http://localhost:4004/.well-known/jwks.json');
    expect(config.apolloTelemetry).toBe(false);
  });

  it('takes subgraph URLs from the environment', () => {
    expect(readConfig({ PRICING_URL: 'http://pricing.internal:8080/graphql' }).subgraphUrls.pricing).toBe('http://pricing.internal:8080/graphql');
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT must be an integer/],
    [{ ORDERS_URL: 'not a url' }, /ORDERS_URL must be a URL/],
    [{ SUBGRAPH_TIMEOUT_MS: '0' }, /SUBGRAPH_TIMEOUT_MS/],
    [{ NODE_ENV: 'production' }, /ROUTER_SECRET is required/],
  ])('fails fast with a message naming the variable for %o', (env, message) => {
    expect(() => readConfig(env)).toThrow(message);
  });
});
