import { randomUUID } from 'node:crypto';
import type { ApolloServerPlugin, GraphQLRequest } from '@apollo/server';
import type { Logger, Viewer } from '@shop/platform';
import { GraphQLError, type FormattedExecutionResult, type GraphQLFormattedError } from 'graphql';
import { ResponseCachePolicy } from '../cache/policy.ts';
import type { SubscriptionConfig } from '../config.ts';
import type { RouterContext, SubscriptionCheck } from '../context.ts';
import type { RouterMetrics } from '../metrics.ts';
import { SUBSCRIPTION_FIELDS } from './fields.ts';
import type { EventHub } from './hub.ts';
import { LiveSubscription } from './live.ts';
import { ENTITY_VARIABLE, rewriteSubscription } from './rewrite.ts';

/** Who subscribes: what their token said (checked once per connection or request) and where they are. */
export interface SubscriberIdentity {
  viewer: Viewer | null;
  /** When the token expires (ms since the epoch): the subscription ends then with UNAUTHENTICATED. */
  expiresAt?: number | undefined;
  clientIp: string;
  clientName: string;
}

/** A subscribe message's payload, as both transports receive it. */
export interface SubscribeRequest {
  query?: string | undefined;
  variables?: Record<string, unknown> | null | undefined;
  operationName?: string | null | undefined;
  extensions?: Record<string, unknown> | null | undefined;
}

/** Runs an operation through Apollo Server (its plugins, validation and the gateway) with this context. */
export type ExecuteOperation = (request: GraphQLRequest, context: RouterContext) => Promise<FormattedExecutionResult>;

/** Codes that end a subscription when an event's answer carries them: the subscriber may no longer see it. */
const ENDING_CODES = new Set(['UNAUTHENTICATED', 'FORBIDDEN']);

export const TOO_MANY_SUBSCRIPTIONS = 'TOO_MANY_SUBSCRIPTIONS';

/** How long an answer to one event is kept for other subscribers asking the same about it. */
const SHARED_ANSWER_MS = 2_000;
const SHARED_ANSWERS_MAX = 10_000;

export interface OpenOptions {
  /** SSE `Last-Event-ID`: replay what changed after this stream position, or the current state when it is out of the window. */
  resumeAfter?: number | undefined;
}

/**
 * The subscriptions of one router. A subscribe goes through Apollo once as it is (the `check`
 * phase: trusted documents and APQ resolve it, validation, operation limits and demand control
 * judge it, and execution is skipped), then it is rewritten into the query that answers each of
 * its events (rewrite.ts) and registered with the hub. Each event runs that query through Apollo
 * and the gateway with the subscriber's identity, so authorisation is asked again at every event.
 *
 * Subscribers asking the same query about the same event with the same identity share one
 * execution; an answer whose every fetch was public is shared with everyone asking the same.
 */
export class SubscriptionManager {
  private readonly perUser = new Map<string, number>();
  private readonly live = new Set<LiveSubscription>();
  private readonly answers = new Map<string, { at: number; answer: Promise<{ result: FormattedExecutionResult; public: boolean }> }>();
  private closed = false;

  constructor(
    private readonly options: {
      config: SubscriptionConfig;
      hub: EventHub;
      execute: ExecuteOperation;
      log: Logger;
      metrics: RouterMetrics;
      now?: () => number;
    },
  ) {}

  get size(): number {
    return this.live.size;
  }

  /** Starts a subscription, or says why not (formatted errors, each with `extensions.code`). */
  async open(
    request: SubscribeRequest,
    identity: SubscriberIdentity,
    { resumeAfter }: OpenOptions = {},
  ): Promise<LiveSubscription | GraphQLFormattedError[]> {
    const { config, metrics } = this.options;
    if (this.closed) return [formatted('The router is shutting down; subscribe again', 'SHUTTING_DOWN')];
    const now = this.options.now ?? Date.now;
    if (identity.expiresAt !== undefined && identity.expiresAt <= now()) {
      return [formatted('Token has expired; sign in again', 'UNAUTHENTICATED')];
    }
    const userId = identity.viewer?.userId;
    if (userId === undefined) return this.start(request, identity, resumeAfter, undefined);
    if ((this.perUser.get(userId) ?? 0) >= config.maxPerUser) {
      metrics.subscriptionRefusals.inc({ reason: 'per_user' });
      return [
        formatted(`At most ${config.maxPerUser} subscriptions per user at once`, TOO_MANY_SUBSCRIPTIONS, { limit: config.maxPerUser }),
      ];
    }
    // The user's place is taken now, before the checks wait on Apollo: subscribes sent together
    // cannot all pass the count. A refusal gives it back; a live subscription, when it ends.
    this.perUser.set(userId, (this.perUser.get(userId) ?? 0) + 1);
    const started = await this.start(request, identity, resumeAfter, userId).catch((error: unknown) => {
      this.release(userId);
      throw error;
    });
    if (Array.isArray(started)) this.release(userId);
    return started;
  }

  private release(userId: string): void {
    const left = (this.perUser.get(userId) ?? 1) - 1;
    if (left > 0) this.perUser.set(userId, left);
    else this.perUser.delete(userId);
  }

  private async start(
    request: SubscribeRequest,
    identity: SubscriberIdentity,
    resumeAfter: number | undefined,
    userId: string | undefined,
  ): Promise<LiveSubscription | GraphQLFormattedError[]> {
    const { config, hub, metrics } = this.options;
    const now = this.options.now ?? Date.now;

    // 1. Through Apollo as sent: everything a query would be checked for, nothing executed.
    const check: SubscriptionCheck = { phase: 'check' };
    // graphql-ws insists on a `query` string: a persisted-query id comes with an empty one, which
    // means "by id" (as the id alone does over SSE and HTTP).
    const byId = request.query === '' && request.extensions?.persistedQuery !== undefined;
    const checked = await this.options.execute(
      {
        query: byId ? undefined : request.query,
        variables: request.variables ?? undefined,
        operationName: request.operationName ?? undefined,
        extensions: request.extensions ?? undefined,
      },
      this.context(identity, check),
    );
    if (checked.errors?.length) return [...checked.errors];
    if (!check.accepted) return [formatted('The operation was not accepted', 'BAD_REQUEST')];
    const { document, operation, schema, variables } = check.accepted;

    // 2. The query that answers each event, and the keys the subscription listens on.
    let rewritten: ReturnType<typeof rewriteSubscription>;
    let keys: string[];
    const fieldName = operationFieldName(operation);
    const field = fieldName ? SUBSCRIPTION_FIELDS[fieldName] : undefined;
    try {
      if (!field) throw new GraphQLError(`Subscription.${fieldName} is not served by this router`, { extensions: { code: 'BAD_REQUEST' } });
      rewritten = rewriteSubscription({ schema, document, operation, variables, queryField: field.queryField });
      keys = field.keys(rewritten.args, identity.viewer, config);
    } catch (error) {
      return [toFormatted(error)];
    }
    const operationName = operation.name?.value;
    const shape = { query: rewritten.query, variables: rewritten.variables, operationName };

    // 3. Entities whose access the subscriber must have now (orderUpdated: its order).
    for (const entityId of field.checkIds?.(rewritten.args) ?? []) {
      const { result } = await this.answer(shape, entityId, hub.latestSequence, identity);
      const ending = result.errors?.filter((error) => ENDING_CODES.has(String(error.extensions?.code)));
      if (ending?.length) return ending;
      const notFound = result.errors?.filter((error) => error.extensions?.code === 'NOT_FOUND');
      if (notFound?.length) return notFound;
    }
    if (this.closed) return [formatted('The router is shutting down; subscribe again', 'SHUTTING_DOWN')];

    // 4. Live.
    const label = { field: rewritten.fieldName };
    let expiry: NodeJS.Timeout | undefined;
    const live: LiveSubscription = new LiveSubscription(
      async (entityId, sequence) => {
        const { result } = await this.answer(shape, entityId, sequence, identity);
        const ends = result.errors?.some((error) => ENDING_CODES.has(String(error.extensions?.code)));
        return { result, sequence, final: ends };
      },
      () => {
        clearTimeout(expiry);
        hub.remove(keys, live);
        this.live.delete(live);
        metrics.subscriptionsActive.dec(label);
        if (userId !== undefined) this.release(userId);
      },
    );
    this.live.add(live);
    metrics.subscriptionsActive.inc(label);
    hub.add(keys, live);
    if (identity.expiresAt !== undefined) {
      // setTimeout holds at most ~24.8 days, far beyond JWT_TTL_SECONDS' 7-day ceiling.
      const delay = Math.min(identity.expiresAt - now(), 2 ** 31 - 1);
      expiry = setTimeout(
        () => live.end({ result: { errors: [formatted('Token has expired; sign in again', 'UNAUTHENTICATED')] } }),
        delay,
      );
      expiry.unref();
    }
    if (resumeAfter !== undefined) {
      const missed = hub.since(resumeAfter, keys);
      if (missed) for (const { entityId, sequence } of missed) live.deliver(entityId, sequence);
      else for (const entityId of field.snapshotIds(rewritten.args)) live.deliver(entityId, hub.latestSequence);
    }
    return live;
  }

  /** Ends every subscription (shutdown): transports close their connections after this. */
  close(): void {
    this.closed = true;
    for (const live of [...this.live]) live.end();
  }

  /**
   * One event's answer for one subscriber. The same query, variables, entity and event asked by the
   * same identity within a moment share one execution; an answer that was public is shared by all.
   */
  private async answer(
    shape: { query: string; variables: Record<string, unknown>; operationName: string | undefined },
    entityId: string,
    sequence: number,
    identity: SubscriberIdentity,
  ): Promise<{ result: FormattedExecutionResult; shared: boolean }> {
    const now = (this.options.now ?? Date.now)();
    const base = `${sequence}\u0000${entityId}\u0000${shape.operationName ?? ''}\u0000${shape.query}\u0000${JSON.stringify(shape.variables)}`;
    const viewer = identity.viewer;
    const own = `${base}\u0000${viewer ? `${viewer.userId} ${viewer.scopes.join(' ')}` : ''}`;
    for (const key of [`${base}\u0000*`, own]) {
      const found = this.answers.get(key);
      if (found && now - found.at < SHARED_ANSWER_MS) {
        const answer = await found.answer;
        if (key === own || answer.public) {
          this.options.metrics.subscriptionResults.inc({ outcome: 'shared' });
          return { result: answer.result, shared: true };
        }
      }
    }
    const answer = this.execute(shape, entityId, identity);
    this.remember(own, now, answer);
    const settled = await answer;
    if (settled.public) this.remember(`${base}\u0000*`, now, answer);
    this.options.metrics.subscriptionResults.inc({ outcome: settled.result.errors?.length ? 'error' : 'executed' });
    return { result: settled.result, shared: false };
  }

  private async execute(
    shape: { query: string; variables: Record<string, unknown>; operationName: string | undefined },
    entityId: string,
    identity: SubscriberIdentity,
  ): Promise<{ result: FormattedExecutionResult; public: boolean }> {
    const context = this.context(identity, { phase: 'event' });
    try {
      const result = await this.options.execute(
        { query: shape.query, variables: { ...shape.variables, [ENTITY_VARIABLE]: entityId }, operationName: shape.operationName },
        context,
      );
      const policy = context.cachePolicy.policy({ uncacheable: Boolean(result.errors?.length) });
      return { result, public: policy.cacheable && policy.scope === 'PUBLIC' };
    } catch (error) {
      this.options.log.error({ err: error }, 'subscriptions: an event could not be answered');
      return { result: { errors: [formatted('This update could not be resolved', 'INTERNAL_SERVER_ERROR')] }, public: false };
    }
  }

  private remember(key: string, at: number, answer: Promise<{ result: FormattedExecutionResult; public: boolean }>): void {
    if (this.answers.size >= SHARED_ANSWERS_MAX) {
      for (const [old, entry] of this.answers) {
        if (at - entry.at < SHARED_ANSWER_MS && this.answers.size < SHARED_ANSWERS_MAX) break;
        this.answers.delete(old);
      }
    }
    this.answers.set(key, { at, answer });
    // Kept only for the moment subscribers of one event ask together.
    setTimeout(() => {
      if (this.answers.get(key)?.answer === answer) this.answers.delete(key);
    }, SHARED_ANSWER_MS).unref();
  }

  private context(identity: SubscriberIdentity, subscription: RouterContext['subscription']): RouterContext {
    return {
      viewer: identity.viewer,
      requestId: randomUUID(),
      clientIp: identity.clientIp,
      clientName: identity.clientName,
      cachePolicy: new ResponseCachePolicy(),
      subscription,
    };
  }
}

function operationFieldName(operation: {
  selectionSet: { selections: readonly { kind: string; name?: { value: string } }[] };
}): string | undefined {
  const [first] = operation.selectionSet.selections;
  return first?.kind === 'Field' ? first.name?.value : undefined;
}

export function formatted(message: string, code: string, extra: Record<string, unknown> = {}): GraphQLFormattedError {
  return { message, extensions: { code, ...extra } };
}

function toFormatted(error: unknown): GraphQLFormattedError {
  if (error instanceof GraphQLError) {
    return { message: error.message, extensions: { code: 'BAD_USER_INPUT', ...error.extensions } };
  }
  return formatted('The subscription could not be started', 'INTERNAL_SERVER_ERROR');
}

/**
 * The Apollo side: a subscription sent as a query over HTTP is refused with a pointer to the
 * transports; a `check` stops once every check has passed (after the last didResolveOperation,
 * where limits and demand control judge it), with what execution would have run.
 */
export function subscriptionPlugin(): ApolloServerPlugin<RouterContext> {
  return {
    async requestDidStart({ contextValue }) {
      const phase = contextValue.subscription?.phase;
      return {
        async didResolveOperation({ operation }) {
          if (!operation) return; // Apollo refuses it by itself (no such operation)
          if (phase === undefined && operation.operation === 'subscription') {
            throw new GraphQLError(
              'Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql, over SSE at /graphql/stream, ' +
                'and as multipart HTTP on /graphql with Accept: multipart/mixed;subscriptionSpec="1.0"',
              {
                extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
              },
            );
          }
          if (phase === 'check' && operation.operation !== 'subscription') {
            throw new GraphQLError('Only subscriptions are served here: send queries and mutations to POST /graphql', {
              extensions: { code: 'BAD_REQUEST' },
            });
          }
        },
        async responseForOperation({ document, operation, schema, request, response }) {
          const subscription = contextValue.subscription;
          if (subscription?.phase !== 'check' || !operation) return null;
          subscription.accepted = { document, operation, schema, variables: request.variables };
          return { http: response.http, body: { kind: 'single', singleResult: { data: null } } };
        },
      };
    },
  };
}
