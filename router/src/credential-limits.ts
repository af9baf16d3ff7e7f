import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { RouterContext } from './context.ts';
import { rateLimitedBody, type CredentialKind, type CredentialLimit } from './rate-limit.ts';

/**
 * The Mutation fields that check or set a password. Each costs the users subgraph a password hash
 * (scrypt), on purpose slow: a client that could ask for many at once, or many in a row, would
 * spend that subgraph's CPU for every other client signing in.
 */
export const CREDENTIAL_FIELDS: Readonly<Record<string, CredentialKind>> = { logIn: 'sign_in', signUp: 'sign_up' };

/** How many credential fields one operation may hold (aliases and fragments included). */
export const MAX_CREDENTIAL_FIELDS = 1;

/** The code (HTTP 400) of an operation holding more than MAX_CREDENTIAL_FIELDS. */
export const CREDENTIAL_FIELDS_CODE = 'MAX_CREDENTIAL_FIELDS_EXCEEDED';

/**
 * Bounds sign-in and sign-up work, after the operation is parsed and validated and before any
 * fetch (didResolveOperation), so an alias, a fragment or a persisted document hides nothing:
 * - more than one credential field in an operation: 400 MAX_CREDENTIAL_FIELDS_EXCEEDED (30 aliased
 *   `logIn`s in one request were 30 password checks);
 * - each attempt counts in its kind's bucket for the client's address (rate-limit.ts); past it,
 *   429 RATE_LIMITED with Retry-After, as the request limit answers. Without the rate limit
 *   (RATE_LIMIT=false) only the first rule applies. `limitOf` is asked on each request, as the
 *   limit is registered on the HTTP server after Apollo is built.
 */
export function credentialLimitPlugin(limitOf: () => CredentialLimit | undefined): ApolloServerPlugin<RouterContext> {
  return {
    async requestDidStart() {
      // Set on a refusal; the headers go on in willSendResponse rather than in the error's
      // `extensions.http` (typed differently where graphql-yoga is also installed, as in bench/).
      let retryAfterSeconds: number | undefined;
      return {
        async willSendResponse({ response }) {
          if (retryAfterSeconds === undefined) return;
          response.http.headers.set('retry-after', String(retryAfterSeconds));
          response.http.headers.set('cache-control', 'no-store');
        },
        async didResolveOperation({ operation, document, contextValue }) {
          if (operation?.operation !== 'mutation') return;
          const kinds = credentialFieldsOf(operation, document);
          if (kinds.length === 0) return;
          if (kinds.length > MAX_CREDENTIAL_FIELDS) {
            const times = `${MAX_CREDENTIAL_FIELDS} time${MAX_CREDENTIAL_FIELDS === 1 ? '' : 's'}`;
            throw new GraphQLError(`An operation may sign in or sign up at most ${times}; this one asks ${kinds.length}`, {
              extensions: { code: CREDENTIAL_FIELDS_CODE, http: { status: 400 } },
            });
          }
          const take = limitOf();
          if (!take || !contextValue.clientIp) return;
          // The bucket keys by the address's /64 itself (rate-limit.ts).
          const outcome = await take(kinds[0]!, contextValue.clientIp);
          if (outcome.allowed) return;
          const [refusal] = rateLimitedBody(outcome.retryAfterSeconds).errors;
          retryAfterSeconds = outcome.retryAfterSeconds;
          throw new GraphQLError(refusal!.message, { extensions: { ...refusal!.extensions, http: { status: 429 } } });
        },
      };
    },
  };
}

/**
 * The credential fields an operation runs at its root, by response key: fields that share one (the
 * same fragment spread twice) merge and run once, aliases run apart. Found through fragment
 * spreads and inline fragments, with a stack of its own; each named fragment is read once.
 */
export function credentialFieldsOf(operation: OperationDefinitionNode, document: DocumentNode): CredentialKind[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const found = new Map<string, CredentialKind>();
  const spread = new Set<string>();
  const pending: SelectionSetNode[] = [operation.selectionSet];
  while (pending.length) {
    for (const selection of pending.pop()!.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (Object.hasOwn(CREDENTIAL_FIELDS, name)) found.set(selection.alias?.value ?? name, CREDENTIAL_FIELDS[name]!);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        pending.push(selection.selectionSet);
      } else if (!spread.has(selection.name.value)) {
        spread.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) pending.push(fragment.selectionSet);
      }
    }
  }
  return [...found.values()];
}
