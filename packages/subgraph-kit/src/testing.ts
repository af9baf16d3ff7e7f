import type { FastifyInstance } from 'fastify';
import { IDENTITY_HEADERS } from '@shop/platform';

/** Helpers for subgraph unit tests: run an operation against a built server in-process. */
export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; [k: string]: unknown } }[];
}

export async function gql<T = Record<string, any>>(
  app: FastifyInstance,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const response = await app.inject({ method: 'POST', url: '/graphql', payload: { query, variables }, headers });
  return { status: response.statusCode, ...(response.json() as object) };
}

/**
 * The router secret of test servers (build them with `ROUTER_SECRET: TEST_ROUTER_SECRET`): without
 * a secret a subgraph believes no identity header.
 */
export const TEST_ROUTER_SECRET = 'test-router-secret';

/**
 * Headers the router would send for a signed-in user, with TEST_ROUTER_SECRET unless another
 * secret is given; `null` sends none (a caller that is not the router).
 */
export function asUser(userId: string, scopes: string[] = [], routerSecret: string | null = TEST_ROUTER_SECRET): Record<string, string> {
  return {
    [IDENTITY_HEADERS.userId]: userId,
    [IDENTITY_HEADERS.scopes]: scopes.join(' '),
    ...(routerSecret ? { [IDENTITY_HEADERS.routerSecret]: routerSecret } : {}),
  };
}

/** The value of a counter in a service's Prometheus text: over all its series, or those with every label in `labels`. */
export async function metricValue(app: FastifyInstance, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const wanted = Object.entries(labels).map(([label, value]) => `${label}="${value}"`);
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => wanted.every((pair) => line.includes(pair)))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

export const ENTITIES_QUERY = (selection: string) =>
  `query($representations: [_Any!]!) { _entities(representations: $representations) { __typename ${selection} } }`;

/** Statements the requests sent so far, by server: `db_queries_total{server}` (see replica.ts). */
export async function statementsByServer(app: FastifyInstance): Promise<{ primary: number; replica: number }> {
  const [primary, replica] = await Promise.all([
    metricValue(app, 'db_queries_total', { server: 'primary' }),
    metricValue(app, 'db_queries_total', { server: 'replica' }),
  ]);
  return { primary, replica };
}
