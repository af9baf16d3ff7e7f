import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { Logger } from '@shop/platform';
import type { RouterContext } from '../context.ts';
import type { RouterMetrics } from '../metrics.ts';
import { sha256, type TrustedDocuments } from './manifests.ts';
import { modeFor, type SafelistModes } from './modes.ts';

export const NOT_IN_LIST = 'PERSISTED_QUERY_NOT_IN_LIST';

/** What a refused request runs through Apollo instead of its own document: cheap and harmless. */
const REFUSED_PLACEHOLDER = '{ __typename }';

/**
 * Trusted documents and APQ outcomes, as an Apollo Server plugin.
 *
 * Apollo resolves APQ (store lookup, hash check, PERSISTED_QUERY_NOT_FOUND) inside
 * processGraphQLRequest after `requestDidStart` and before any later hook, so the decision is taken
 * in `requestDidStart`, the only hook that can still change what Apollo does with the request:
 * - a manifest id becomes the manifest's body (and the APQ extension is dropped, so Apollo neither
 *   looks the hash up in the APQ store nor writes the body back to it): the manifest answers its
 *   own ids even when the APQ store is empty or down;
 * - a safelisted client's request outside its manifest is refused. A hook cannot answer a request
 *   before `didResolveOperation` (an error thrown earlier becomes a 500), so the untrusted document
 *   is swapped for a constant one before Apollo parses, validates or registers it, and
 *   `didResolveOperation` then throws PERSISTED_QUERY_NOT_IN_LIST, which Apollo answers with
 *   HTTP 400 and `{ errors: [{ message, extensions: { code } }] }` through the usual hooks.
 *
 * The safelist never fails open: a safelisted app whose manifest is missing or could not be loaded
 * has no ids, so every request of it is refused.
 */
export function persistedQueryPlugin({
  documents,
  modes,
  metrics,
  logger,
}: {
  documents: TrustedDocuments;
  modes: SafelistModes;
  metrics: RouterMetrics;
  logger: Logger;
}): ApolloServerPlugin<RouterContext> {
  return {
    async requestDidStart({ request, contextValue }) {
      // An event answered for a subscriber runs the router's rewrite of a document that was checked
      // here when it subscribed: it is in no manifest, and needs not be.
      if (contextValue.subscription?.phase === 'event') return {};
      const client = contextValue.clientName;
      const clientLabel = metrics.labels.client(client); // bounded: the name is the client's to choose
      const mode = modeFor(modes, client);
      const manifest = documents.forApp(client);
      const persisted = request.extensions?.persistedQuery as { version?: unknown; sha256Hash?: unknown } | undefined;
      const hash = persisted?.version === 1 && typeof persisted.sha256Hash === 'string' ? persisted.sha256Hash : undefined;

      // Apollo would otherwise look the hash up in (or register the document to) the APQ store.
      const withoutApq = () => {
        const { persistedQuery: _, ...rest } = request.extensions ?? {};
        request.extensions = rest;
      };
      const fromManifest = hash !== undefined && request.query === undefined ? manifest?.get(hash) : undefined;
      if (fromManifest) {
        request.query = fromManifest.body;
        withoutApq();
      }

      if (mode === 'safelist') {
        // A hash sent with a document is checked against it by Apollo; a document sent alone is
        // trusted only when it is byte-identical to a manifest body.
        const id = hash ?? (typeof request.query === 'string' ? sha256(request.query) : undefined);
        if (id === undefined || !manifest?.has(id)) {
          metrics.persistedQueryRequests.inc({ client: clientLabel, outcome: 'not_in_list' });
          request.query = REFUSED_PLACEHOLDER;
          request.operationName = undefined;
          withoutApq();
          return {
            async didResolveOperation() {
              throw new GraphQLError(`Operation is not in the persisted query list of client "${client}"`, {
                extensions: { code: NOT_IN_LIST, http: { status: 400 } },
              });
            },
          };
        }
      }

      let resolved = false;
      return {
        async didResolveSource({ queryHash, request: { operationName } }) {
          if (mode !== 'log_unknown' || manifest?.has(queryHash)) return;
          metrics.persistedQueryUnknown.inc({ client: clientLabel });
          metrics.persistedQueryRequests.inc({ client: clientLabel, outcome: 'unknown_logged' });
          logger.warn({ client, operationName, queryHash }, 'operation is not in the client persisted query manifest');
        },
        async didResolveOperation() {
          resolved = true;
        },
        async willSendResponse({ metrics: apq, errors }) {
          if (fromManifest || apq.persistedQueryHit) {
            metrics.persistedQueryRequests.inc({ client: clientLabel, outcome: 'hit' });
          } else if (apq.persistedQueryRegister && resolved) {
            // Apollo stores a registration only once the operation resolved (parsed and validated).
            metrics.persistedQueryRequests.inc({ client: clientLabel, outcome: 'registered' });
          } else if (errors?.some((error) => error.extensions?.code === 'PERSISTED_QUERY_NOT_FOUND')) {
            metrics.persistedQueryRequests.inc({ client: clientLabel, outcome: 'not_found' });
          }
        },
      };
    },
  };
}
