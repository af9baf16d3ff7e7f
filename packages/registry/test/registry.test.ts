import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { callsOf, databaseUrlVar, localUrl, schemaPath, subgraph, SUBGRAPH_NAMES, SUBGRAPHS, urlVar } from '../src/index.ts';

const repoRoot = new URL('../../../', import.meta.url);

describe('subgraph registry', () => {
  it('derives every name the contracts use from one entry', () => {
    expect(SUBGRAPH_NAMES).toEqual(SUBGRAPHS.map((s) => s.name));
    expect(urlVar('products')).toBe('PRODUCTS_URL');
    expect(databaseUrlVar('orders')).toBe('ORDERS_DATABASE_URL');
    expect(localUrl('products')).toBe('http://localhost:4001/graphql');
    expect(schemaPath('products')).toBe('subgraphs/products/src/schema.graphql');
    // The DESIGN.md contract ports (a new subgraph adds its own after them).
    const contract = { products: 4001, inventory: 4002, pricing: 4003, users: 4004, orders: 4005 } as const;
    for (const [name, port] of Object.entries(contract)) expect(subgraph(name as keyof typeof contract).port).toBe(port);
    expect(callsOf('orders')).toEqual(['pricing', 'inventory']);
    expect(subgraph('users').package).toBe('@shop/users');
  });

  // What a new entry must get right: its folder, schema and package name are where it says.
  it.each(SUBGRAPH_NAMES)('%s: schema file and workspace package exist as registered', (name) => {
    expect(existsSync(new URL(schemaPath(name), repoRoot))).toBe(true);
    const packageJson = readFileSync(new URL(`subgraphs/${name}/package.json`, repoRoot), 'utf8');
    const pkg = JSON.parse(packageJson) as { name: string; exports: Record<string, string> };
    expect(pkg.name).toBe(subgraph(name).package);
    expect(Object.keys(pkg.exports)).toEqual(expect.arrayContaining(['.', './config']));
  });

  it('ports are distinct', () => {
    expect(new Set(SUBGRAPHS.map((s) => s.port)).size).toBe(SUBGRAPHS.length);
  });
});
