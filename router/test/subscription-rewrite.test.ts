import { buildSchema, GraphQLError, Kind, parse, validate, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ENTITY_VARIABLE, rewriteSubscription } from '../src/subscriptions/rewrite.ts';

/** The part of the supergraph the rewrite touches: the Subscription fields and the query fields that answer them. */
const schema = buildSchema(`
  type Query {
    order(id: ID!): Order
    product(id: ID!): Product
  }
  type Subscription {
    orderUpdated(id: ID!): Order!
    myOrderUpdates: Order!
    productUpdated(ids: [ID!]!): Product!
  }
  type Order {
    id: ID!
    status: String!
    total(currency: String): String!
    lines: [OrderLine!]!
  }
  type OrderLine {
    quantity: Int!
    product: Product!
  }
  type Product {
    id: ID!
    name: String!
    stock(region: String): Int
  }
`);

function rewrite(source: string, variables?: Record<string, unknown>, operationName?: string) {
  const document = parse(source);
  // The router rewrites only what Apollo validated: a test document that is not valid tests nothing.
  expect(validate(schema, document)).toEqual([]);
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName)! : operations[0]!;
  const queryField = source.includes('productUpdated') ? 'product' : 'order';
  return rewriteSubscription({ schema, document, operation, variables, queryField });
}

/** The rewritten query parses, is a valid query of the schema, and uses every variable it declares. */
function validQuery(query: string): DocumentNode {
  const document = parse(query);
  expect(validate(schema, document)).toEqual([]);
  return document;
}

const refusal = (fn: () => unknown): GraphQLError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GraphQLError);
    return error as GraphQLError;
  }
  throw new Error('expected a refusal');
};

describe('rewriteSubscription', () => {
  it('answers the root field as the query field under its own name, dropping variables only the root arguments used', () => {
    const rewritten = rewrite('subscription OrderStatus($id: ID!) { orderUpdated(id: $id) { id status } }', { id: 'o42' });
    expect(rewritten.fieldName).toBe('orderUpdated');
    expect(rewritten.args).toEqual({ id: 'o42' });
    expect(rewritten.variables).toEqual({});
    expect(rewritten.query).toBe(
      `query OrderStatus($${ENTITY_VARIABLE}: ID!) {\n  orderUpdated: order(id: $${ENTITY_VARIABLE}) {\n    id\n    status\n  }\n}`,
    );
    validQuery(rewritten.query);
  });

  it('keeps the variables the selection uses, with their values, and their definitions', () => {
    const rewritten = rewrite(
      'subscription Live($ids: [ID!]!, $region: String = "eu") { productUpdated(ids: $ids) { id stock(region: $region) } }',
      { ids: ['p1', 'p2'], region: 'us', other: 3 },
    );
    expect(rewritten.args).toEqual({ ids: ['p1', 'p2'] });
    expect(rewritten.variables).toEqual({ region: 'us' });
    const document = validQuery(rewritten.query);
    const operation = document.definitions[0] as OperationDefinitionNode;
    expect(operation.operation).toBe('query');
    expect(operation.variableDefinitions?.map((d) => d.variable.name.value)).toEqual([ENTITY_VARIABLE, 'region']);
    expect(rewritten.query).toContain('$region: String = "eu"');
    expect(rewritten.query).toContain('productUpdated: product(id: $subscriptionEntityId)');
  });

  it('does not invent a value for a kept variable the subscriber left out (its default applies)', () => {
    const rewritten = rewrite(
      'subscription ($ids: [ID!]!, $region: String = "eu") { productUpdated(ids: $ids) { stock(region: $region) } }',
      {
        ids: ['p1'],
      },
    );
    expect(rewritten.variables).toEqual({});
    expect(rewritten.query).toContain('$region: String = "eu"');
    validQuery(rewritten.query);
  });

  it('keeps the fragments the operation uses, transitively, and drops those only another operation uses', () => {
    const source = `
      subscription Mine($currency: String) { myOrderUpdates { ...OrderFields } }
      subscription Other($id: ID!) { orderUpdated(id: $id) { ...OnlyOther } }
      fragment OrderFields on Order { id total(currency: $currency) lines { ...LineFields } }
      fragment LineFields on OrderLine { quantity product { ...ProductFields } }
      fragment ProductFields on Product { id name }
      fragment OnlyOther on Order { status }
    `;
    const mine = rewrite(source, { currency: 'EUR' }, 'Mine');
    const document = validQuery(mine.query);
    expect(document.definitions.map((d) => ('name' in d ? d.name?.value : undefined))).toEqual([
      'Mine',
      'OrderFields',
      'LineFields',
      'ProductFields',
    ]);
    expect(mine.variables).toEqual({ currency: 'EUR' }); // used in a fragment, not the operation itself
    expect(mine.query).not.toContain('OnlyOther');
    expect(mine.query).not.toMatch(/\bsubscription\b/);

    const other = rewrite(source, { id: 'o1' }, 'Other');
    const otherDocument = validQuery(other.query);
    expect(otherDocument.definitions.map((d) => ('name' in d ? d.name?.value : undefined))).toEqual(['Other', 'OnlyOther']);
    expect(other.args).toEqual({ id: 'o1' });
    expect(other.variables).toEqual({});
  });

  it('keeps an alias on the root field as the result key', () => {
    const rewritten = rewrite('subscription { live: orderUpdated(id: "o7") { id } }');
    expect(rewritten.fieldName).toBe('orderUpdated');
    expect(rewritten.query).toContain('live: order(id: $subscriptionEntityId)');
    validQuery(rewritten.query);
  });

  it('coerces the root arguments as the field defines them (a single id becomes a list, an Int literal an ID)', () => {
    expect(rewrite('subscription ($ids: [ID!]!) { productUpdated(ids: $ids) { id } }', { ids: 'p1' }).args).toEqual({ ids: ['p1'] });
    expect(rewrite('subscription { productUpdated(ids: ["p1", "p2", "p1"]) { id } }').args).toEqual({ ids: ['p1', 'p2', 'p1'] });
    expect(rewrite('subscription { productUpdated(ids: "p3") { id } }').args).toEqual({ ids: ['p3'] });
    expect(rewrite('subscription { orderUpdated(id: 42) { id } }').args).toEqual({ id: '42' });
    expect(rewrite('subscription ($id: ID!) { orderUpdated(id: $id) { id } }', { id: 7 }).args).toEqual({ id: '7' });
    expect(rewrite('subscription { myOrderUpdates { id } }').args).toEqual({});
  });

  it('refuses variables that do not coerce', () => {
    const error = refusal(() => rewrite('subscription ($ids: [ID!]!) { productUpdated(ids: $ids) { id } }', { ids: [null] }));
    expect(error.message).toMatch(/\$ids/);
    refusal(() => rewrite('subscription ($id: ID!) { orderUpdated(id: $id) { id } }', {}));
  });

  it('refuses a variable named like its own, whether the selection uses it or only the root arguments did', () => {
    const inSelection = refusal(() =>
      rewrite(
        `subscription ($ids: [ID!]!, $${ENTITY_VARIABLE}: String) { productUpdated(ids: $ids) { stock(region: $${ENTITY_VARIABLE}) } }`,
        {
          ids: ['p1'],
          [ENTITY_VARIABLE]: 'eu',
        },
      ),
    );
    expect(inSelection.extensions.code).toBe('BAD_REQUEST');
    expect(inSelection.message).toContain(ENTITY_VARIABLE);

    // Only the root argument used it; the rewritten root field uses the router's variable of that name, so it is still refused.
    const inRoot = refusal(() =>
      rewrite(`subscription ($${ENTITY_VARIABLE}: ID!) { orderUpdated(id: $${ENTITY_VARIABLE}) { id } }`, { [ENTITY_VARIABLE]: 'o1' }),
    );
    expect(inRoot.extensions.code).toBe('BAD_REQUEST');
  });

  it('refuses a directive on the root field', () => {
    // A literal condition: graphql-js's own validation cannot collect a subscription's root fields under a variable one.
    const error = refusal(() => rewrite('subscription { orderUpdated(id: "o1") @include(if: true) { id } }'));
    expect(error.extensions.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(/[Dd]irective/);
  });

  it('refuses a root selection that is not a single field', () => {
    // A fragment around the root field: what the router would answer could not be told from the field alone.
    const spread = refusal(() => rewrite('subscription { ...Root } fragment Root on Subscription { orderUpdated(id: "o1") { id } }'));
    expect(spread.extensions.code).toBe('BAD_REQUEST');
    const inline = refusal(() => rewrite('subscription { ... on Subscription { orderUpdated(id: "o1") { id } } }'));
    expect(inline.extensions.code).toBe('BAD_REQUEST');
  });
});
