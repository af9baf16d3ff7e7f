import { createRequire } from 'node:module';
import { type DefinitionNode, type DocumentNode, Kind, type OperationDefinitionNode } from 'graphql';

/**
 * The gateway turns the request's AST into a federation `Operation` on every request
 * (`executeQueryPlan` → `operationFromDocument(apiSchema, { definitions: [operation, ...fragments] },
 * { validate: false })`), although the plan it executes was cached on the first one. Apollo Server
 * hands it the same parsed document for the same query text (its document store), so the result
 * is the same each time: about 8% of the router's CPU on a product page (`npm run bench:profile`).
 *
 * This keeps that `Operation` beside the AST it was built from, in a WeakMap: an entry lives as
 * long as Apollo Server's document store keeps the document (bounded by its size), and a new
 * supergraph (a new API schema) gets its own. Only that exact call is kept: any other (the planner's,
 * with validation or an operation name) goes straight to the library. The library's export is
 * replaced in place, as the gateway reads it at each call; `installOperationCache` says whether it
 * took (a release that moved the function leaves the gateway as it was, only slower).
 */
type OperationFromDocument = (schema: object, document: DocumentNode, options?: { operationName?: string; validate?: boolean }) => unknown;

interface Entry {
  /** The fragment definitions it was built with: the same objects, or the entry does not apply. */
  fragments: readonly DefinitionNode[];
  operation: unknown;
}

const MARK = Symbol.for('shop.router.operationCache');
let calls = { built: 0, reused: 0 };

export function installOperationCache(): boolean {
  const require = createRequire(import.meta.url);
  // The gateway's own copy of federation-internals (the one it calls).
  const gatewayRequire = createRequire(require.resolve('@apollo/gateway'));
  let operations: { operationFromDocument?: OperationFromDocument & { [MARK]?: true } };
  try {
    operations = gatewayRequire('@apollo/federation-internals/dist/operations');
  } catch {
    return false;
  }
  const original = operations.operationFromDocument;
  if (typeof original !== 'function') return false;
  if (original[MARK]) return true;

  const bySchema = new WeakMap<object, WeakMap<OperationDefinitionNode, Entry>>();
  const cached = function operationFromDocument(schema, document, options) {
    const [first, ...fragments] = document.definitions;
    if (options?.validate !== false || options.operationName !== undefined || first?.kind !== Kind.OPERATION_DEFINITION) {
      return original(schema, document, options);
    }
    let byOperation = bySchema.get(schema);
    if (!byOperation) {
      byOperation = new WeakMap();
      bySchema.set(schema, byOperation);
    }
    const entry = byOperation.get(first);
    if (entry && entry.fragments.length === fragments.length && entry.fragments.every((f, i) => f === fragments[i])) {
      calls.reused++;
      return entry.operation;
    }
    // A GraphQLError (an unknown type in a fragment) is thrown as before and not kept.
    const operation = original(schema, document, options);
    byOperation.set(first, { fragments, operation });
    calls.built++;
    return operation;
  } as OperationFromDocument & { [MARK]?: true };
  cached[MARK] = true;
  try {
    operations.operationFromDocument = cached;
  } catch {
    return false;
  }
  return operations.operationFromDocument === cached;
}

/** How many operations were built and how many reused since the last call (for tests). */
export function takeOperationCacheCounts(): { built: number; reused: number } {
  const counts = calls;
  calls = { built: 0, reused: 0 };
  return counts;
}
