import type { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLFormattedError, ValidationRule } from 'graphql';
import { CLIENT_NAME_HEADER } from './client-name.ts';
import type { RouterConfig } from './config.ts';
import type { RouterContext } from './context.ts';
import type { Stage } from './stages/stage.ts';

/** Apollo Server over the gateway, with the stages' Apollo parts in pipeline order. */
export function createApolloServer(gateway: ApolloGateway, stages: readonly Stage[], config: RouterConfig): ApolloServer<RouterContext> {
  const parts = stages.map((stage) => stage.apollo).filter((part) => part !== undefined);
  return new ApolloServer<RouterContext>({
    gateway,
    // Shutdown is ours (index.ts / handleShutdownSignals): Apollo's own SIGINT/SIGTERM handler
    // (on unless NODE_ENV=test) would stop at once, skipping the not-ready delay, then re-raise the signal.
    stopOnTerminationSignals: false,
    // One operation per request: a JSON array body is refused with 400 (BAD_REQUEST), so a batch
    // cannot multiply the operation limits.
    allowBatchedHttpRequests: false,
    introspection: !config.production,
    includeStacktraceInErrorResponses: false,
    // A browser cannot send a non-simple header cross-site without a CORS preflight, so the client
    // name header proves a request is not a CSRF as well as Apollo's own two do. Mobile apps send it
    // on their persisted-query GETs, which carry no content type.
    csrfPrevention: { requestHeaders: ['x-apollo-operation-name', 'apollo-require-preflight', CLIENT_NAME_HEADER] },
    validationRules: parts.flatMap((part): ValidationRule[] => part.validationRules ?? []),
    parseOptions: Object.assign({}, ...parts.map((part) => part.parseOptions ?? {})),
    persistedQueries: parts.find((part) => part.persistedQueries)?.persistedQueries,
    plugins: [
      ...parts.flatMap((part): ApolloServerPlugin<RouterContext>[] => part.plugins ?? []),
      // No IDE in production, whatever NODE_ENV Apollo itself sees.
      ...(config.production ? [ApolloServerPluginLandingPageDisabled()] : []),
    ],
    formatError: (formatted, error) =>
      parts.reduce<GraphQLFormattedError>((current, part) => (part.formatError ? part.formatError(current, error) : current), formatted),
  });
}
