/**
 * GraphQL documents and set-up calls the benchmarks share: the web client's own operations, and
 * signing in or posting straight to a subgraph before any load starts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Kind, parse, print, visit, type DefinitionNode, type FragmentDefinitionNode } from 'graphql';
import { ROOT } from './processes.ts';

/** The web client's own operations (clients/web/operations), each with the fragments it spreads. */
export function clientOperation(name: string): string {
  const dir = `${ROOT}clients/web/operations`;
  const definitions: DefinitionNode[] = readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .flatMap((f) => parse(readFileSync(`${dir}/${f}`, 'utf8')).definitions);
  const fragments = new Map(
    definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  const operation = definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION && d.name?.value === name);
  if (!operation) throw new Error(`no operation ${name} in ${dir}`);
  const needed = new Map<string, FragmentDefinitionNode>();
  const collect = (node: DefinitionNode) =>
    visit(node, {
      FragmentSpread(spread) {
        const fragment = fragments.get(spread.name.value);
        if (fragment && !needed.has(fragment.name.value)) {
          needed.set(fragment.name.value, fragment);
          collect(fragment);
        }
      },
    });
  collect(operation);
  return [operation, ...needed.values()].map((d) => print(d)).join('\n\n');
}

export interface Session {
  token: string;
  userId: string;
}

/** One GraphQL request that must succeed (HTTP 200, no errors); its `data`. */
export async function post(url: string, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: unknown[] };
  if (res.status !== 200 || body.errors?.length)
    throw new Error(`${url}: HTTP ${res.status} ${JSON.stringify(body.errors ?? body).slice(0, 500)}`);
  return body.data;
}

export async function logIn(usersUrl: string, email: string, password: string, headers: Record<string, string> = {}): Promise<Session> {
  const data = await post(
    usersUrl,
    'mutation($e: String!, $p: String!) { logIn(email: $e, password: $p) { token user { id } } }',
    { e: email, p: password },
    headers,
  );
  return { token: data.logIn.token, userId: data.logIn.user.id };
}

export async function inBatches<T, R>(items: T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}
