import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Viewer } from '@shop/platform';
import type { RequestDedupState, RouterContext } from './context.ts';
import { InFlight } from './inflight.ts';
import type { RouterMetrics } from './metrics.ts';

/**
 * Identical client requests in flight at once run the pipeline once (REQUEST_DEDUP). Under load
 * the same popular query (a listing page, a bestseller's product page) often arrives from many
 * clients within the few milliseconds one takes to answer; the first runs through parsing,
 * planning and its subgraph fetches, and the others wait for it and are sent its response, byte
 * for byte. Nothing is kept once it is sent: this is no cache, and runs with the caches off.
 *
 * Identical means the response cache's key (method, client name, document, operation name,
 * variables) plus the verified viewer's user id and scopes, so nobody receives an answer computed
 * for someone else. Only what CSRF prevention would let through is keyed at all (see
 * ResponseCache.keyOf). A waiting request is answered only when the first one turned out to be a
 * query answered with status 200; anything else (a mutation, an error status, a client that went
 * away) and the waiting requests each run the pipeline themselves. Once the router has answered a
 * mutation, later requests never join a run that started before it.
 */
export type { RequestDedupState } from './context.ts';

interface SharedReply {
  status: number;
  contentType: string | undefined;
  cacheControl: string | undefined;
  payload: string;
  /** The operation as Apollo resolved it, for the waiting requests' metrics. */
  operationName: string | null;
}

interface Leader {
  state: RequestDedupState;
  settle(reply: SharedReply | undefined): void;
}

export class RequestDedup {
  private readonly inFlight = new InFlight<SharedReply | undefined>((reply) => () => reply);
  private readonly leaders = new WeakMap<FastifyRequest, Leader>();

  constructor(private readonly metrics: RouterMetrics) {}

  /**
   * preHandler step. Joins an identical request in flight and answers with its response (returns
   * the operation's name, for the request metrics), or makes this request the one others join
   * (returns undefined: the pipeline runs).
   */
  async handle(
    request: FastifyRequest,
    reply: FastifyReply,
    key: string,
    viewer: Viewer | null,
    /** Called just before a shared response is sent (the reply's onSend hooks run at once). */
    beforeSend?: () => void,
  ): Promise<{ operationName: string | null } | undefined> {
    let settle!: (reply: SharedReply | undefined) => void;
    let leading = false;
    // run() calls its start function synchronously, and only when nothing identical is in
    // flight: `leading` is known as soon as it returns.
    const shared = this.inFlight.run(`${key}\n${viewer ? `${viewer.userId}\n${viewer.scopes.join(' ')}` : '-'}`, () => {
      leading = true;
      return new Promise<SharedReply | undefined>((resolve) => (settle = resolve));
    });
    if (leading) {
      const state: RequestDedupState = {};
      this.leaders.set(request, { state, settle });
      // A leader that never reaches onSend (the client went away) must not hold the others.
      reply.raw.once('close', () => settle(undefined));
      void shared.catch(() => undefined);
      return undefined;
    }
    const { value } = await shared;
    if (!value) return undefined;
    this.metrics.requestDedupes.inc();
    beforeSend?.();
    void reply.status(value.status);
    if (value.contentType) void reply.header('content-type', value.contentType);
    if (value.cacheControl) void reply.header('cache-control', value.cacheControl);
    void reply.send(value.payload);
    return { operationName: value.operationName };
  }

  /** Per-request state for the GraphQL context, when this request leads. */
  stateOf(request: FastifyRequest): RequestDedupState | undefined {
    return this.leaders.get(request)?.state;
  }

  /** onSend hook, before anything rewrites the payload (conditional GET's 304): hands the response to those waiting. */
  readonly onSend = async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    const leader = this.leaders.get(request);
    if (!leader) return payload;
    this.leaders.delete(request);
    const shareable = leader.state.operation === 'query' && reply.statusCode === 200 && typeof payload === 'string';
    leader.settle(
      shareable
        ? {
            status: 200,
            contentType: header(reply, 'content-type'),
            cacheControl: header(reply, 'cache-control'),
            payload: payload as string,
            operationName: leader.state.operationName ?? null,
          }
        : undefined,
    );
    return payload;
  };

  /** Apollo plugin: records each leader's operation kind; a mutation ends joining for everything in flight. */
  plugin(): ApolloServerPlugin<RouterContext> {
    return {
      requestDidStart: async () => ({
        didResolveOperation: async ({ contextValue, operation, operationName }) => {
          if (!contextValue.requestDedup) return;
          contextValue.requestDedup.operation = operation?.operation;
          contextValue.requestDedup.operationName = operationName;
        },
        willSendResponse: async ({ operation }) => {
          if (operation?.operation === 'mutation') this.inFlight.clear();
        },
      }),
    };
  }
}

function header(reply: FastifyReply, name: string): string | undefined {
  const value = reply.getHeader(name);
  return value === undefined ? undefined : String(value);
}
