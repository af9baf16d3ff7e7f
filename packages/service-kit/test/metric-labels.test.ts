import { describe, expect, it } from 'vitest';
import { clientLabel, MAX_CLIENT_LABELS, MAX_OPERATION_LABELS, OTHER_LABEL, operationClientLabels, operationLabel } from '../src/metric-labels.ts';
import { tinySubgraph } from './tiny-subgraph.ts';

describe('operationLabel', () => {
  it('keeps valid names, reads absent ones as anonymous and anything else as __invalid', () => {
    const label = operationLabel();
    expect(label('ShelfPrices')).toBe('ShelfPrices');
    expect(label('web__products__0')).toBe('web__products__0');
    expect(label(undefined)).toBe('anonymous');
    expect(label(null)).toBe('anonymous');
    expect(label('')).toBe('anonymous');
    expect(label(`N${'x'.repeat(64)}`)).toBe('__invalid'); // 65 characters
    expect(label('1Query')).toBe('__invalid');
    expect(label('has space')).toBe('__invalid');
    expect(label({ toString: () => 'Obj' })).toBe('__invalid');
    expect(label.size).toBe(2);
  });

  it('admits at most max distinct values; later new ones read as __other, admitted ones stay', () => {
    const label = operationLabel(3);
    expect(['A', 'B', 'C', 'D', 'E'].map(label)).toEqual(['A', 'B', 'C', OTHER_LABEL, OTHER_LABEL]);
    expect(label('B')).toBe('B');
    expect(label.size).toBe(3);
  });

  it('admits known values first while there is room, skipping invalid ones', () => {
    const label = operationLabel(2);
    expect(label.admit(['Known', 'not valid', 'Other', 'Third'])).toBe(2);
    expect(label('Known')).toBe('Known');
    expect(label('Other')).toBe('Other');
    expect(label('Third')).toBe(OTHER_LABEL);
  });

  it('holds at most MAX_OPERATION_LABELS names by default', () => {
    const label = operationLabel();
    for (let i = 0; i < 10 * MAX_OPERATION_LABELS; i++) label(`Op${i}`);
    expect(label.size).toBe(MAX_OPERATION_LABELS);
    expect(label(`Op${MAX_OPERATION_LABELS}`)).toBe(OTHER_LABEL);
  });
});

describe('clientLabel', () => {
  it('keeps client names of the header pattern up to MAX_CLIENT_LABELS, and unknown for the rest', () => {
    const label = clientLabel();
    expect(label('web-app.v2')).toBe('web-app.v2');
    expect(label(undefined)).toBe('unknown');
    expect(label('x'.repeat(41))).toBe('unknown');
    for (let i = 0; i < 100; i++) label(`client${i}`);
    expect(label.size).toBe(MAX_CLIENT_LABELS);
    expect(label('client99')).toBe(OTHER_LABEL);
  });
});

describe('operationClientLabels', () => {
  it('bounds the pairs: past the bound a new pair keeps its operation with the client __other', () => {
    const labels = operationClientLabels({ operations: 10, clients: 10, pairs: 4 });
    expect(labels.pair('A', 'web')).toEqual({ operation: 'A', client: 'web' });
    for (const operation of ['B', 'C', 'D']) labels.pair(operation, 'web');
    expect(labels.pair('A', 'ios')).toEqual({ operation: 'A', client: OTHER_LABEL });
    expect(labels.pair('D', 'web')).toEqual({ operation: 'D', client: 'web' });
    expect(labels.pair(`N${'x'.repeat(100)}`, 'x'.repeat(100))).toEqual({ operation: '__invalid', client: OTHER_LABEL });
  });
});

describe('subgraph request metrics', () => {
  it('keep a bounded number of graphql_requests_total series whatever operation names callers send', async () => {
    const app = await tinySubgraph({ production: true, routerSecret: 'test-secret' });
    try {
      // The router names fetches `<client>__<subgraph>__N`; a caller can send any name.
      for (let i = 0; i < 1_000; i++) {
        const operationName = i % 2 ? `N${i}${'x'.repeat(2_000)}` : `${i === 0 ? `L${'x'.repeat(63)}` : `Op${i}`}__tiny__${i}`;
        const response = await app.inject({ method: 'POST', url: '/graphql', payload: { query: `query ${operationName} { hello }`, operationName } });
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

