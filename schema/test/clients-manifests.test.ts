import { readdirSync, readFileSync } from 'node:fs';
import { generate } from '@graphql-codegen/cli';
import { buildSchema, Kind, parse, TypeInfo, validate, visit, visitWithTypeInfo, type GraphQLSchema } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import config, { clientApps } from '../../codegen.ts';
import {
  buildManifest,
  generatedPath,
  manifestFile,
  manifestFromPersistedDocuments,
  persistedDocumentsFile,
  sha256Hex,
  type PersistedQueryManifest,
} from '../../clients/src/manifests.ts';

/**
 * The client apps' generated files are committed (the router and the schema check read the
 * manifests without running codegen), so they must be exactly what `npm run codegen` makes from
 * the operations and the API schema of this commit.
 */

const repoRoot = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, repoRoot), 'utf8');
const apiSchema: GraphQLSchema = buildSchema(read('schema/api-schema.graphql'));
const committedManifest = (app: string): PersistedQueryManifest =>
  JSON.parse(read(generatedPath(app, manifestFile))) as PersistedQueryManifest;

/** Only the client outputs: the subgraph resolver types have their own test (codegen.test.ts). */
const clientConfig = {
  ...config,
  silent: true,
  generates: Object.fromEntries(Object.entries(config.generates).filter(([output]) => output.startsWith('clients/'))),
};

describe('client typed documents and persisted query manifests', () => {
  let outputs: { filename: string; content: string }[] = [];

  beforeAll(async () => {
    const previous = process.cwd();
    process.chdir(new URL('.', repoRoot).pathname);
    try {
      outputs = (await generate(clientConfig, false)) as { filename: string; content: string }[];
    } finally {
      process.chdir(previous);
    }
  }, 120_000);

  it('generates typed documents and persisted documents for every app', () => {
    for (const app of clientApps) {
      const files = outputs.filter((o) => o.filename.startsWith(`clients/${app}/`)).map((o) => o.filename);
      expect(files).toEqual(expect.arrayContaining([generatedPath(app, 'graphql.ts'), generatedPath(app, persistedDocumentsFile)]));
    }
  });

  it('committed codegen output matches what `npm run codegen` produces', () => {
    // Every stale file named at once, not just the first.
    const stale = outputs.filter(({ filename, content }) => read(filename) !== content).map(({ filename }) => filename);
    expect(stale, 'stale generated files: run `npm run codegen`').toEqual([]);
  });

  it('committed manifests match the ones built from the persisted documents', () => {
    const stale = clientApps.flatMap((app) => {
      const persisted = outputs.find((o) => o.filename === generatedPath(app, persistedDocumentsFile));
      if (!persisted) throw new Error(`${app}: codegen produced no ${persistedDocumentsFile}`);
      const path = generatedPath(app, manifestFile);
      return read(path) === manifestFromPersistedDocuments(app, persisted.content) ? [] : [path];
    });
    expect(stale, 'stale manifests: run `npm run codegen`').toEqual([]);
  });

  it('no generated directory holds a file codegen no longer writes', () => {
    for (const app of clientApps) {
      const dir = `clients/${app}/__generated__/`;
      const expected = [...outputs.filter((o) => o.filename.startsWith(dir)).map((o) => o.filename.slice(dir.length)), manifestFile].sort();
      expect(readdirSync(new URL(dir, repoRoot)).sort(), `${dir} has stray files`).toEqual(expected);
    }
  });
});

describe('committed manifests', () => {
  it.each(clientApps)('%s: every operation is valid against the API schema, named uniquely and hashed by its body', (app) => {
    const manifest = committedManifest(app);
    expect(manifest.format).toBe('apollo-persisted-query-manifest');
    expect(manifest.version).toBe(1);
    expect(manifest.operations.length).toBeGreaterThan(0);
    expect(new Set(manifest.operations.map((o) => o.name)).size).toBe(manifest.operations.length);
    for (const { id, name, type, body } of manifest.operations) {
      expect(id, `${app} ${name}`).toBe(sha256Hex(body));
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      const document = parse(body);
      expect(
        validate(apiSchema, document).map((e) => e.message),
        `${app} ${name}`,
      ).toEqual([]);
      const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
      expect(operations.map((o) => [o.name?.value, o.operation])).toEqual([[name, type]]);
    }
  });

  it('cover the screens every app ships: listing, product by id and sku, search, checkout, orders, sign-in', () => {
    for (const app of clientApps) {
      const fields = new Set(usedCoordinates(committedManifest(app)));
      const screens = [
        'Query.products(first:)',
        'Query.products(after:)',
        'Query.product(id:)',
        'Query.product(sku:)',
        'Query.searchProducts',
        'Mutation.placeOrder',
        'Mutation.cancelOrder',
        'User.orders',
        'Mutation.logIn',
        'Mutation.signUp',
      ];
      for (const coordinate of screens) expect(fields, `${app} never selects ${coordinate}`).toContain(coordinate);
    }
  });

  // The schema-check fixtures rely on these: removing Product.imageUrl breaks a shipped iOS
  // operation; Product.weightGrams, Warehouse.city and Region.ME are used by no app, so removing
  // them is a breaking change that passes with a warning.
  it('ios selects Product.imageUrl; no app selects Product.weightGrams or Warehouse.city or writes the literal ME', () => {
    expect(usedCoordinates(committedManifest('ios'))).toContain('Product.imageUrl');
    for (const app of clientApps) {
      const manifest = committedManifest(app);
      expect(usedCoordinates(manifest)).not.toContain('Product.weightGrams');
      expect(usedCoordinates(manifest)).not.toContain('Warehouse.city');
      for (const { body } of manifest.operations) {
        visit(parse(body), { EnumValue: (node) => expect(node.value).not.toBe('ME') });
      }
    }
  });
});

describe('buildManifest', () => {
  const doc = (text: string): [string, string] => [`sha256:${sha256Hex(text)}`, text];

  it('takes the id from the preset key without its prefix, and name and type from the document', () => {
    const query = 'query B { me { id } }';
    const mutation = 'mutation A($id: ID!) { cancelOrder(id: $id) { id } }';
    const subscription = 'subscription C($id: ID!) { orderUpdated(id: $id) { id status } }';
    expect(buildManifest('app', Object.fromEntries([doc(subscription), doc(query), doc(mutation)]))).toEqual({
      format: 'apollo-persisted-query-manifest',
      version: 1,
      // Sorted by name, whatever order the preset listed them in.
      operations: [
        { id: sha256Hex(mutation), name: 'A', type: 'mutation', body: mutation },
        { id: sha256Hex(query), name: 'B', type: 'query', body: query },
        { id: sha256Hex(subscription), name: 'C', type: 'subscription', body: subscription },
      ],
    });
  });

  it('refuses a key that is not the sha256 of its body', () => {
    expect(() => buildManifest('ios', { [`sha256:${sha256Hex('query X { me { id } }')}`]: 'query Y { me { id } }' })).toThrow(
      /ios: .*not the sha256/,
    );
  });

  it('refuses two different operations under one name, and unnamed operations', () => {
    expect(() => buildManifest('android', Object.fromEntries([doc('query Me { me { id } }'), doc('query Me { me { name } }')]))).toThrow(
      'android: two operations are named Me',
    );
    expect(() => buildManifest('web', Object.fromEntries([doc('{ me { id } }')]))).toThrow(/has no name/);
  });
});

/**
 * `Type.field` for every field an app's operations select, resolved against the API schema, and
 * `Type.field(arg:)` for every argument they pass.
 */
function usedCoordinates(manifest: PersistedQueryManifest): string[] {
  const used = new Set<string>();
  for (const { body } of manifest.operations) {
    const typeInfo = new TypeInfo(apiSchema);
    visit(
      parse(body),
      visitWithTypeInfo(typeInfo, {
        Field: (node) => {
          const parent = typeInfo.getParentType();
          if (!parent) return;
          used.add(`${parent.name}.${node.name.value}`);
          for (const arg of node.arguments ?? []) used.add(`${parent.name}.${node.name.value}(${arg.name.value}:)`);
        },
      }),
    );
  }
  return [...used];
}
