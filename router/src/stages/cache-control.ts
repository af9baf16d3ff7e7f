import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { parseCacheControl } from '@shop/platform';
import type { RouterContext } from '../context.ts';
import { conditionalGet } from '../persisted/etag.ts';
import type { Stage } from './stage.ts';

/**
 * The client's `Cache-Control`, computed by the router from every fetch of the request (cache hits
 * included) rather than by Apollo's own plugin, which would only see fetches the gateway made; and
 * conditional GET (an ETag on GET 200s, a 304 for a matching If-None-Match, `no-store` on anything
 * answered without a Cache-Control).
 */
export function cacheControl(): Stage {
  return {
    name: 'cache-control',
    apollo: { plugins: [cacheControlPlugin(), ApolloServerPluginCacheControlDisabled()] },
    onSend: conditionalGet,
    fetch: {
      async around(call, next) {
        const result = await next(call);
        call.context?.cachePolicy.restrict(result.policy ?? parseCacheControl(result.cacheControl));
        return result;
      },
    },
  };
}

/**
 * `Cache-Control` for the whole response, from the policies of all its subgraph fetches (see
 * ResponseCachePolicy): `public, max-age=N` with the lowest maxAge, `private, max-age=N` if any
 * part was PRIVATE, `no-store` for mutations, responses with errors, and anything not cacheable.
 */
function cacheControlPlugin(): ApolloServerPlugin<RouterContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response, operation, errors }) {
          const body = response.body;
          const uncacheable =
            operation?.operation !== 'query' ||
            (errors?.length ?? 0) > 0 ||
            body.kind !== 'single' ||
            (body.singleResult.errors?.length ?? 0) > 0;
          response.http.headers.set('cache-control', contextValue.cachePolicy.header({ uncacheable }));
        },
      };
    },
  };
}
