import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type GraphQLError, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from 'graphql';
import { forbidden } from '@shop/platform';

/** Root fields that reveal the subgraph's schema: introspection and federation's SDL. */
const SCHEMA_FIELDS = new Set(['__schema', '__type', '_service']);

/** True when any operation or fragment of the document selects a schema field on the query root. */
export function asksForSchema(schema: GraphQLSchema, document: DocumentNode): boolean {
  const queryType = schema.getQueryType();
  const typeInfo = new TypeInfo(schema);
  let found = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        if (SCHEMA_FIELDS.has(node.name.value) && typeInfo.getParentType() === queryType) found = true;
      },
    }),
  );
  return found;
}

/**
 * Refuses `__schema`, `__type` and `_service` to callers `trusted` rejects, with 403 FORBIDDEN
 * before anything runs. Checked on the parsed, validated document each request (Mercurius's
 * preExecution hook; validation results are cached per query text, so a validation rule could
 * not tell callers apart), however the fields are spelt: aliases, fragments, several operations.
 */
export function guardSchemaIntrospection(app: FastifyInstance, schema: GraphQLSchema, trusted: (request: FastifyRequest) => boolean): void {
  // Mercurius hands back the same document object for a query text it has cached.
  const verdicts = new WeakMap<DocumentNode, boolean>();
  app.graphql.addHook('preExecution', async (_schema, document, context) => {
    let asks = verdicts.get(document);
    if (asks === undefined) verdicts.set(document, (asks = asksForSchema(schema, document)));
    // No HTTP request behind it (a subscription, say): nobody proved anything.
    const request = context.reply?.request as FastifyRequest | undefined;
    if (asks && !(request && trusted(request))) throw schemaRefused();
  });
}

function schemaRefused(): GraphQLError {
  const error = forbidden('Schema introspection is disabled');
  // Read by the server's error formatter (not serialised): the whole request is refused.
  Object.defineProperty(error, 'statusCode', { value: 403, enumerable: false });
  return error;
}
