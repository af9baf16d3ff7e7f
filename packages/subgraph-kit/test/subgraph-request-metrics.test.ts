import { describe, expect, it } from 'vitest';
import { MAX_OPERATION_LABELS, OTHER_LABEL } from '@shop/platform';
import { tinySubgraph } from './tiny-subgraph.ts';

describe('subgraph request metrics', () => {
  it('keep a bounded number of graphql_requests_total series whatever operation names callers send', async () => {
    const app = await tinySubgraph({ production: true, routerSecret: 'test-secret' });
    try {
      // The router names fetches `<client>__<subgraph>__N`; a caller can send any name.
      for (let i = 0; i < 1_000; i++) {
        const operationName = i % 2 ? `N${i}${'x'.repeat(2_000)}` : `${i === 0 ? `L${'x'.repeat(63)}` : `Op${i}`}__tiny__${i}`;
        const response = await app.inject({
          method: 'POST',
          url: '/graphql',
          payload: { query: `query ${operationName} { hello }`, operationName },
        });
        expect(response.statusCode).toBeLessThan(500);
      }
      const metrics = await app.inject({ method: 'GET', url: '/metrics' });
      const series = metrics.body.split('\n').filter((line) => line.startsWith('graphql_requests_total{'));
      const operations = new Set(series.map((line) => /operation="([^"]*)"/.exec(line)?.[1]));
      expect(operations.size).toBeLessThanOrEqual(MAX_OPERATION_LABELS + 3);
      expect(operations.has(OTHER_LABEL)).toBe(true);
      expect(operations.has('__invalid')).toBe(true);
      expect(operations.has(`L${'x'.repeat(63)}__tiny__0`)).toBe(true); // a 64-character client name, as the router sends it
      expect(Math.max(...[...operations].map((operation) => operation?.length ?? 0))).toBeLessThanOrEqual(96);
      expect(series.length).toBeLessThan(400);
    } finally {
      await app.close();
    }
  });
});
