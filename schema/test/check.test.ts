import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { formatHuman, formatMarkdown, readClientManifests, runCheck, type ClientManifests } from '../src/check.ts';
import { API_SCHEMA_FILE, readSubgraphSdls, SUPERGRAPH_FILE } from '../src/compose.ts';

const FIXTURE_CLIENTS = new URL('./fixtures/clients/', import.meta.url);
const base = readFileSync(API_SCHEMA_FILE, 'utf8');
const fixtures = readClientManifests(FIXTURE_CLIENTS);
const work = mkdtempSync(join(tmpdir(), 'schema-check-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The five real subgraph SDLs with `edit` applied to one; throws when the edit matched nothing. */
function subgraphs(edit?: { subgraph: string; from: string | RegExp; to: string }) {
  return readSubgraphSdls().map((s) => {
    if (!edit || s.name !== edit.subgraph) return s;
    const sdl = s.sdl.replace(edit.from, edit.to);
    if (sdl === s.sdl) throw new Error(`fixture edit did not apply to ${s.name}`);
    return { ...s, sdl };
  });
}

const check = (subs = subgraphs(), clients: ClientManifests = fixtures) => runCheck({ subgraphs: subs, baseApiSchemaSdl: base, clients });
const paths = (changes: { path: string | null }[]) => changes.map((c) => c.path);

describe('schema check', () => {
  it('reads the fixture manifests: ios and android, one operation each', () => {
    expect(fixtures.problems).toEqual([]);
    expect(fixtures.operations.map((o) => `${o.client}/${o.name}`)).toEqual(['android/SearchProducts', 'ios/ProductDetail']);
  });

  it('passes with no changes, and the committed files are not stale', async () => {
    const report = await runCheck({
      subgraphs: subgraphs(),
      baseApiSchemaSdl: base,
      clients: fixtures,
      committed: { supergraphSdl: readFileSync(SUPERGRAPH_FILE, 'utf8'), apiSchemaSdl: base },
    });
    expect(report).toMatchObject({ ok: true, brokenOperations: [], unusedBreaking: [], stale: [], operations: { ios: 1, android: 1 } });
    expect(report.changes).toEqual({ breaking: [], dangerous: [], safe: [] });
    expect(formatHuman(report)).toMatch(/✔ 2 registered operations valid \(android 1, ios 1\)\nschema check passed\n$/);
  });

  it('fails when a field ios uses is removed, naming ios, the operation and the field', async () => {
    const report = await check(subgraphs({ subgraph: 'products', from: '  imageUrl: String!\n', to: '' }));
    expect(report.ok).toBe(false);
    expect(paths(report.changes.breaking)).toEqual(['Product.imageUrl']);
    expect(report.brokenOperations).toEqual([
      {
        client: 'ios',
        operation: 'ProductDetail',
        message: 'Cannot query field "imageUrl" on type "Product".',
        changes: ['Product.imageUrl'],
      },
    ]);
    expect(report.unusedBreaking).toEqual([]);
    const text = formatHuman(report);
    expect(text).toContain('✖ ios ProductDetail: Cannot query field "imageUrl" on type "Product".');
    expect(text).toMatch(/schema check FAILED\n$/);
  });

  it('passes with a warning when the removed field is one no operation uses', async () => {
    const report = await check(subgraphs({ subgraph: 'inventory', from: '  city: String!\n', to: '' }));
    expect(report.ok).toBe(true);
    expect(report.brokenOperations).toEqual([]);
    expect(paths(report.unusedBreaking)).toEqual(['Warehouse.city']);
    const text = formatHuman(report);
    expect(text).toContain("⚠ Breaking change no registered operation uses: Field 'city' was removed from object type 'Warehouse'");
    expect(text).toMatch(/schema check passed with 1 warning\n$/);
  });

  it('passes when a nullable field is added, classified safe', async () => {
    const report = await check(
      subgraphs({ subgraph: 'products', from: '  imageUrl: String!\n', to: '  imageUrl: String!\n  subtitle: String\n' }),
    );
    expect(report.ok).toBe(true);
    expect(report.changes.breaking).toEqual([]);
    expect(report.changes.dangerous).toEqual([]);
    expect(report.changes.safe).toEqual([
      { type: 'FIELD_ADDED', path: 'Product.subtitle', message: "Field 'subtitle' was added to object type 'Product'" },
    ]);
  });

  describe('a field type change is breaking', () => {
    const categoryField = (field: string) => ({
      subgraph: 'products',
      from: new RegExp(`(type Category [^{]*\\{[^}]*?\\n  ${field}: )String!`),
      to: '$1Int',
    });

    it('fails when a registered operation selects it, although the operation still validates', async () => {
      const report = await check(subgraphs(categoryField('name')));
      expect(report.changes.breaking).toMatchObject([{ type: 'FIELD_TYPE_CHANGED', path: 'Category.name' }]);
      expect(report.ok).toBe(false);
      expect(report.brokenOperations).toEqual([
        {
          client: 'ios',
          operation: 'ProductDetail',
          message: "uses Category.name: Field 'Category.name' changed type from 'String!' to 'Int'",
          changes: ['Category.name'],
        },
      ]);
    });

    it('warns only when no registered operation selects it', async () => {
      const report = await check(subgraphs(categoryField('slug')));
      expect(report.changes.breaking).toMatchObject([{ type: 'FIELD_TYPE_CHANGED', path: 'Category.slug' }]);
      expect(report.ok).toBe(true);
      expect(paths(report.unusedBreaking)).toEqual(['Category.slug']);
    });
  });

  describe('removing an enum value (Region.ME, from every subgraph that defines Region)', () => {
    const withoutMe = () => readSubgraphSdls().map((s) => ({ ...s, sdl: s.sdl.replace(/^ {2}ME\n/m, '') }));

    it('is breaking, and fails an operation that can send it (ios takes a Region variable)', async () => {
      const report = await check(withoutMe());
      expect(report.composition.ok).toBe(true);
      expect(report.changes.breaking).toMatchObject([{ type: 'ENUM_VALUE_REMOVED', path: 'Region.ME' }]);
      expect(report.ok).toBe(false);
      expect(report.brokenOperations).toMatchObject([{ client: 'ios', operation: 'ProductDetail', changes: ['Region.ME'] }]);
    });

    it('only warns when no registered operation takes a Region', async () => {
      const androidOnly = { operations: fixtures.operations.filter((o) => o.client === 'android'), problems: [] };
      const report = await check(withoutMe(), androidOnly);
      expect(report.ok).toBe(true);
      expect(paths(report.unusedBreaking)).toEqual(['Region.ME']);
    });
  });

  describe('subscription operations are checked like queries', () => {
    const body = 'subscription OrderLive($id: ID!) { orderUpdated(id: $id) { id paymentStatus } }';
    const web: ClientManifests = {
      operations: [{ client: 'web', id: createHash('sha256').update(body).digest('hex'), name: 'OrderLive', type: 'subscription', body }],
      problems: [],
    };

    it('fail when a field the subscription selects is removed', async () => {
      const report = await check(subgraphs({ subgraph: 'orders', from: '  paymentStatus: PaymentStatus!\n', to: '' }), web);
      expect(report.ok).toBe(false);
      expect(report.brokenOperations).toEqual([
        {
          client: 'web',
          operation: 'OrderLive',
          message: 'Cannot query field "paymentStatus" on type "Order".',
          changes: ['Order.paymentStatus'],
        },
      ]);
    });

    it('fail when the Subscription field itself is removed, and pass otherwise', async () => {
      expect(await check(subgraphs(), web)).toMatchObject({ ok: true, operations: { web: 1 } });
      const report = await check(subgraphs({ subgraph: 'orders', from: /\n.*\n {2}orderUpdated\(id: ID!\): Order!/, to: '' }), web);
      expect(report.ok).toBe(false);
      expect(report.brokenOperations).toMatchObject([{ client: 'web', operation: 'OrderLive', changes: ['Subscription.orderUpdated'] }]);
    });
  });

  it('fails on a composition error, naming the subgraph and the location', async () => {
    const report = await check(subgraphs({ subgraph: 'pricing', from: 'amount: String!', to: 'amount: Float!' }));
    expect(report.ok).toBe(false);
    expect(report.composition.ok).toBe(false);
    const [error] = report.composition.errors;
    expect(error).toMatchObject({ code: 'FIELD_TYPE_MISMATCH', message: expect.stringContaining('in subgraph "pricing"') });
    expect(error!.locations).toContainEqual({ subgraph: 'pricing', line: 22, column: 3 });
    expect(formatHuman(report)).toMatch(
      /✖ FIELD_TYPE_MISMATCH: Type of field "Money\.amount" .*\(inventory:22:3, orders:22:3, pricing:22:3\)/,
    );
  });

  it('fails when the committed supergraph or API schema is not what composition produces', async () => {
    const report = await runCheck({
      subgraphs: subgraphs({ subgraph: 'products', from: '  imageUrl: String!\n', to: '  imageUrl: String!\n  subtitle: String\n' }),
      baseApiSchemaSdl: base,
      clients: fixtures,
      committed: { supergraphSdl: readFileSync(SUPERGRAPH_FILE, 'utf8'), apiSchemaSdl: base },
    });
    expect(report.stale).toEqual(['schema/supergraph.graphql', 'schema/api-schema.graphql']);
    expect(report.ok).toBe(false);
  });

  describe('client manifests', () => {
    const manifestDir = (manifests: Record<string, unknown>) => {
      const dir = mkdtempSync(join(work, 'clients-'));
      for (const [app, manifest] of Object.entries(manifests)) {
        mkdirSync(join(dir, app, '__generated__'), { recursive: true });
        writeFileSync(
          join(dir, app, '__generated__', 'persisted-query-manifest.json'),
          typeof manifest === 'string' ? manifest : JSON.stringify(manifest),
        );
      }
      mkdirSync(join(dir, 'not-generated-yet'));
      return pathToFileURL(`${dir}/`);
    };

    it('are zero operations when the directory or a manifest does not exist yet', async () => {
      expect(readClientManifests(new URL('file:///nonexistent/clients/'))).toEqual({ operations: [], problems: [] });
      const report = await check(subgraphs(), readClientManifests(manifestDir({})));
      expect(report).toMatchObject({ ok: true, operations: {} });
      expect(formatHuman(report)).toContain('✔ 0 registered operations valid');
    });

    it('fail the check when malformed or when an id is not the sha256 of its body', async () => {
      const body = 'query Categories { categories { id slug } }';
      const good = { id: createHash('sha256').update(body).digest('hex'), name: 'Categories', type: 'query', body };
      const clients = readClientManifests(
        manifestDir({
          web: {
            format: 'apollo-persisted-query-manifest',
            version: 1,
            operations: [good, { ...good, name: 'Tampered', body: body.replace('slug', 'name') }],
          },
          ios: '{ not json',
          android: { format: 'something-else', operations: [] },
        }),
      );
      expect(clients.operations.map((o) => o.name)).toEqual(['Categories', 'Tampered']);
      expect(clients.problems).toEqual([
        expect.stringMatching(/^clients\/android\/.*: not an apollo-persisted-query-manifest version 1$/),
        expect.stringMatching(/^clients\/ios\/.*: not valid JSON/),
        'clients/web/__generated__/persisted-query-manifest.json: Tampered id is not the sha256 of its body; run `npm run codegen`',
      ]);
      const report = await check(subgraphs(), clients);
      expect(report.ok).toBe(false);
      expect(report.stale).toEqual(clients.problems);
    });

    it('fail an operation that no longer parses or was never valid, even without a schema change', async () => {
      const ops = [
        { client: 'web', id: 'x', name: 'Typo', type: 'query', body: 'query Typo { categorys { id } }' },
        { client: 'web', id: 'y', name: 'Garbled', type: 'query', body: 'query Garbled {' },
      ];
      const report = await check(subgraphs(), { operations: ops, problems: [] });
      expect(report.ok).toBe(false);
      expect(report.brokenOperations).toMatchObject([
        { client: 'web', operation: 'Typo', message: expect.stringContaining('Cannot query field "categorys" on type "Query"') },
        { client: 'web', operation: 'Garbled', message: expect.stringMatching(/^Syntax Error/) },
      ]);
    });
  });

  it('renders Markdown for a pull-request comment: headings and tables', async () => {
    const report = await check(subgraphs({ subgraph: 'products', from: '  imageUrl: String!\n', to: '' }));
    const md = formatMarkdown(report);
    expect(md.split('\n')[0]).toBe('## Schema check: ✖ failed');
    expect(md).toContain('### API schema changes (1 breaking, 0 dangerous, 0 safe)');
    expect(md).toContain("| ✖ breaking | Field 'imageUrl' was removed from object type 'Product' | `Product.imageUrl` |");
    expect(md).toContain('### Registered client operations (2 checked)');
    expect(md).toContain('| ios | `ProductDetail` | Cannot query field "imageUrl" on type "Product". |');
  });
});
