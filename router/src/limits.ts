import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, type GraphQLFormattedError, type ValidationContext, type ValidationRule } from 'graphql';
import { COST_CODE, demandControlPlugin, RESPONSE_FIELDS_CODE } from './demand-control.ts';
import type { RouterContext } from './context.ts';
import type { RouterMetrics } from './metrics.ts';

/**
 * Operation limits, checked before any subgraph is asked anything. Every rejection is HTTP 400 with
 * one of these `extensions.code`s (stable: clients and alerts may match on them):
 *
 * code — limit (env var, default): what counts
 * - MAX_DEPTH_EXCEEDED — MAX_DEPTH (12): nesting of selection sets, fragments flattened
 * - MAX_ALIASES_EXCEEDED — MAX_ALIASES (30): aliases in the operation (fragments included), `__typename` too
 * - MAX_TOKENS_EXCEEDED — MAX_TOKENS (3000): lexical tokens of the document; parsing stops at the limit
 * - MAX_DIRECTIVES_EXCEEDED — MAX_DIRECTIVES (30): directives used in the operation (fragments included)
 * - MAX_COST_EXCEEDED — MAX_COST (10000): demand control's estimate from the supergraph's @cost and @listSize
 * - MAX_RESPONSE_FIELDS_EXCEEDED — MAX_RESPONSE_FIELDS (30000): fields the response may hold, leaves and `__typename` included,
 *   each times the list sizes above it
 *
 * Demand control (demand-control.ts): a mutation 10, each field its @cost, else 1 for an object and
 * 0 for a scalar or enum, fragments expanded; a list multiplies what is under it by the page size
 * asked for (literal, variable, or default), else its @listSize assumedSize, else COST_LIST_SIZE
 * (10). An operation it cannot estimate (past its visit budget, or without the one slicing
 * argument a @listSize requires) is refused with the same code. The same walk counts the response's
 * fields, because cost prices scalars at 0 and aliases are counted once however many list elements
 * they repeat under: 30 aliased scalars under 4,920 products cost 9,960 and answered 10.6 MB.
 *
 * The largest of the repo's real operations (clients/*\/operations, e2e/, bench/) measure depth 8,
 * 2 aliases, 137 tokens and 0 directives; the costliest shipped client operation is android
 * OrderHistory at 3,063 (20 orders of up to 50 lines; test/demand-control.test.ts costs every
 * manifest operation), and the most response fields any of them may answer is ios MyOrders's
 * 8,167, so the defaults leave 1.5× headroom for depth, 3× for cost and response fields and more
 * for the rest. Introspection is not counted: `__schema` for depth, any `__` field for cost (for
 * response fields it counts 1).
 *
 * Depth, aliases and directives are graphql-armor validation rules; cost is demand control, an
 * Apollo Server plugin that runs once the operation is resolved (after validation, so depth has
 * already bounded it) and before the gateway plans or fetches. Tokens use graphql-js's
 * own `maxTokens` parse option (the same lexer count graphql-armor's max-tokens does), because
 * graphql-armor's Apollo token plugin throws from a request hook, which Apollo Server answers with
 * a 500; a parse error is a 400.
 */
export const LIMIT_CODES = {
  depth: 'MAX_DEPTH_EXCEEDED',
  aliases: 'MAX_ALIASES_EXCEEDED',
  tokens: 'MAX_TOKENS_EXCEEDED',
  directives: 'MAX_DIRECTIVES_EXCEEDED',
  cost: COST_CODE,
  responseFields: RESPONSE_FIELDS_CODE,
} as const;

export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxDirectives: number;
  maxCost: number;
  /** Demand control's bound on the fields a response may hold (MAX_RESPONSE_FIELDS). */
  maxResponseFields: number;
  /** Demand control's size for a list field without @listSize (COST_LIST_SIZE). */
  costListSize: number;
}

export const DEFAULT_OPERATION_LIMITS: OperationLimits = {
  maxDepth: 12,
  maxAliases: 30,
  maxTokens: 3_000,
  maxDirectives: 30,
  maxCost: 10_000,
  maxResponseFields: 30_000,
  costListSize: 10,
};

/** A limit's rejection; Apollo wraps validation errors (code GRAPHQL_VALIDATION_FAILED), formatError restores ours. */
class OperationLimitError extends GraphQLError {
  constructor(
    message: string,
    readonly limitCode: string,
  ) {
    super(message, { extensions: { code: limitCode } });
  }
}

const reject =
  (code: string) =>
  (context: ValidationContext | null, error: GraphQLError): void =>
    // graphql-armor prefixes every rejection with "Syntax Error: ", which these are not.
    context?.reportError(new OperationLimitError(error.message.replace(/^Syntax Error: /, ''), code));

/**
 * An `operationName` naming no operation of the document (or several operations and no name) is
 * the client's mistake, but with a gateway Apollo Server finds out only in the executor, whose
 * error (INVALID_GRAPHQL, no HTTP status) it answers with a 500. Refused here instead, before
 * execution, with 400 and Apollo's own code for it. Found by e2e/hostile/hostile-input.e2e.test.ts;
 * repro: POST {"query":"{ __typename }","operationName":"Nope"} → was 500.
 */
const operationResolution: ApolloServerPlugin<RouterContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation, request }) {
        if (operation) return;
        const name = request.operationName;
        const message =
          typeof name === 'string' && name
            ? `Unknown operation named "${name.length > 100 ? `${name.slice(0, 100)}…` : name}".`
            : 'Must provide operation name if query contains multiple operations.';
        throw new GraphQLError(message, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE', http: { status: 400 } } });
      },
    };
  },
};

/** graphql-js's message when `maxTokens` stops the parser (graphql is pinned, so it is stable). */
const TOKEN_LIMIT_MESSAGE = /^Syntax Error: Document contains more th(?:an|at) \d+ tokens/;

export interface OperationLimitProtection {
  validationRules: ValidationRule[];
  plugins: ApolloServerPlugin<RouterContext>[];
  parseOptions: { maxTokens: number };
  /** Gives limit errors their own code; the rest pass unchanged. */
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
}

/**
 * graphql-js's suggestions: "Did you mean "x"?", "Did you mean the enum value "IN"?", "Did you
 * mean to use an inline fragment on "X"?" (names never contain "?"). graphql-armor's own
 * blocker only masks the quoted form, and only in validation errors, not in variable coercion.
 */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

export interface OperationLimitOptions {
  /** Production: no "Did you mean …" in any error message, so a client cannot map the schema by guessing. */
  hideSuggestions: boolean;
  /** Development: the estimated cost in `extensions.cost` when the request sends `x-expose-cost`. */
  exposeCost: boolean;
  metrics: RouterMetrics;
}

/** The Apollo Server options that enforce the limits. */
export function operationLimits(
  limits: OperationLimits,
  { hideSuggestions, exposeCost, metrics }: OperationLimitOptions,
): OperationLimitProtection {
  const callbacks = (code: string) => ({ onReject: [reject(code)], propagateOnRejection: false, exposeLimits: true });
  const armor = new ApolloArmor({
    maxDepth: { n: limits.maxDepth, flattenFragments: true, ignoreIntrospection: true, ...callbacks(LIMIT_CODES.depth) },
    // graphql-armor leaves `__typename` out by default (allowList), so 990 `__typename` aliases,
    // or an alias named `__typename` on any field, passed; every alias counts.
    maxAliases: { n: limits.maxAliases, allowList: [], ...callbacks(LIMIT_CODES.aliases) },
    maxDirectives: { n: limits.maxDirectives, ...callbacks(LIMIT_CODES.directives) },
    costLimit: { enabled: false },
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  }).protect();
  return {
    validationRules: armor.validationRules,
    // graphql-armor's declarations resolve @apollo/server's CJS types; the plugin objects are the same.
    plugins: [
      operationResolution,
      ...(armor.plugins as unknown as ApolloServerPlugin<RouterContext>[]),
      demandControlPlugin({
        maxCost: limits.maxCost,
        maxResponseFields: limits.maxResponseFields,
        listSize: limits.costListSize,
        exposeCost,
        metrics,
      }),
    ],
    parseOptions: { maxTokens: limits.maxTokens },
    formatError(formatted, error) {
      if (hideSuggestions && formatted.message.includes('Did you mean'))
        formatted = { ...formatted, message: formatted.message.replace(SUGGESTION, '') };
      const original = error instanceof GraphQLError ? error.originalError : undefined;
      if (original instanceof OperationLimitError) {
        return { ...formatted, extensions: { ...formatted.extensions, code: original.limitCode } };
      }
      if (formatted.extensions?.code === 'GRAPHQL_PARSE_FAILED' && TOKEN_LIMIT_MESSAGE.test(formatted.message)) {
        const { locations: _locations, ...rest } = formatted;
        return {
          ...rest,
          message: `Token limit of ${limits.maxTokens} exceeded.`,
          extensions: { ...formatted.extensions, code: LIMIT_CODES.tokens },
        };
      }
      // Apollo Server refuses some requests with HTTP 400 but no code (an unsupported APQ version, a
      // hash that does not match the query), which it then labels INTERNAL_SERVER_ERROR: a client's
      // mistake must not look like (or alert as) ours. Found by e2e/hostile/hostile-input.e2e.test.ts;
      // repro: POST {"extensions":{"persistedQuery":{"version":2,"sha256Hash":"<64 hex>"}}} → was 400 INTERNAL_SERVER_ERROR.
      const status = (error as { extensions?: { http?: { status?: unknown } } } | null)?.extensions?.http?.status;
      if (formatted.extensions?.code === 'INTERNAL_SERVER_ERROR' && typeof status === 'number' && status >= 400 && status < 500) {
        return { ...formatted, extensions: { ...formatted.extensions, code: 'BAD_REQUEST' } };
      }
      return formatted;
    },
  };
}
