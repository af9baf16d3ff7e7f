import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_SCHEMA_FILE, compose, readSubgraphSdls, SUPERGRAPH_FILE } from '../src/compose.ts';

describe('static composition', () => {
  const outcome = compose(readSubgraphSdls());

  it('composes the five subgraphs', () => {
    expect(outcome.ok).toBe(true);
  });

  it('matches the committed supergraph and API schema (run `npm run compose` when this fails)', () => {
    if (!outcome.ok) throw new Error('composition failed');
    expect(readFileSync(SUPERGRAPH_FILE, 'utf8')).toBe(outcome.supergraphSdl);
    expect(readFileSync(API_SCHEMA_FILE, 'utf8')).toBe(outcome.apiSchemaSdl);
  });

  it('uses federation for real: two keys on Product, @requires, shareable Money', () => {
    if (!outcome.ok) throw new Error('composition failed');
    expect(outcome.supergraphSdl).toMatch(/join__type\(graph: PRODUCTS, key: "id"\)\s*@join__type\(graph: PRODUCTS, key: "sku"\)/);
    expect(outcome.supergraphSdl).toMatch(
      /shippingEstimate\(region: Region!\): ShippingEstimate @join__field\(graph: INVENTORY, requires: "weightGrams"\)/,
    );
  });

  it('reports a composition error clearly', () => {
    const broken = readSubgraphSdls().map((s) =>
      s.name === 'pricing' ? { ...s, sdl: s.sdl.replace('amount: String!', 'amount: Float!') } : s,
    );
    const result = compose(broken);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.message).join('\n')).toMatch(/Money\.amount/);
  });

  it('reports a syntax error with the subgraph name', () => {
    const broken = readSubgraphSdls().map((s) => (s.name === 'users' ? { ...s, sdl: `${s.sdl}\ntype {` } : s));
    const result = compose(broken);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]!.message).toMatch(/^\[users\]/);
  });
});
