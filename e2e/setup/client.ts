import type { SubgraphName } from '@shop/registry';
import { inject } from 'vitest';

export interface Result<T = any> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; [k: string]: unknown } }[];
}

export const routerUrl = () => inject('routerUrl');
export type { SubgraphName } from '@shop/registry';
export const subgraphUrl = (name: SubgraphName) => inject('subgraphUrls')[name];

export interface RequestOptions {
  token?: string | undefined;
  headers?: Record<string, string>;
}

export type Send = <T = any>(document: string, variables?: Record<string, unknown>, options?: RequestOptions) => Promise<Result<T>>;

/** A client for one router: sends GraphQL over HTTP as a real client would. */
export function clientFor(url: () => string): Send {
  return async (document, variables = {}, { token, headers = {} } = {}) => {
    const response = await fetch(url(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body: JSON.stringify({ query: document, variables }),
    });
    const body = (await response.json()) as object;
    return { status: response.status, headers: response.headers, ...body };
  };
}

/** The shared stack's router (started once by the global setup). */
export const query: Send = clientFor(routerUrl);

export async function logIn(email: string, password: string, send: Send = query): Promise<{ token: string; userId: string }> {
  const result = await send(
    'mutation($email: String!, $password: String!) { logIn(email: $email, password: $password) { token user { id } } }',
    { email, password },
  );
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
