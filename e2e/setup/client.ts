import { inject } from 'vitest';

export interface Result<T = any> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; [k: string]: unknown } }[];
}

export const routerUrl = () => inject('routerUrl');
export type SubgraphName = 'products' | 'inventory' | 'pricing' | 'users' | 'orders';
export const subgraphUrl = (name: SubgraphName) => inject('subgraphUrls')[name];

/** Sends one GraphQL request to the router over HTTP, as a client would. */
export async function query<T = any>(
  document: string,
  variables: Record<string, unknown> = {},
  { token, headers = {} }: { token?: string; headers?: Record<string, string> } = {},
): Promise<Result<T>> {
  const response = await fetch(routerUrl(), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ query: document, variables }),
  });
  const body = (await response.json()) as Omit<Result<T>, 'status' | 'headers'>;
  return { status: response.status, headers: response.headers, ...body };
}

export async function logIn(email: string, password: string): Promise<{ token: string; userId: string }> {
  const result = await query('mutation($email: String!, $password: String!) { logIn(email: $email, password: $password) { token user { id } } }', { email, password });
  if (!result.data?.logIn) throw new Error(`logIn failed: ${JSON.stringify(result.errors)}`);
  return { token: result.data.logIn.token, userId: result.data.logIn.user.id };
}

/** Sum of a counter in a service's Prometheus text (all label sets). */
export async function counter(metricsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

export const metricsUrlOf = (graphqlUrl: string) => new URL('/metrics', graphqlUrl).toString();
