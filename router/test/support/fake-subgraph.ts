import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the fake subgraph received. */
export interface ReceivedRequest {
  query: string;
  variables: Record<string, any>;
  headers: IncomingHttpHeaders;
}

export interface FakeReply {
  body: { data?: unknown; errors?: unknown[] };
  /** The subgraph's Cache-Control; omitted → no header. */
  cacheControl?: string;
  /** The HTTP status; omitted → 200. */
  status?: number;
}

export type FakeHandler = (request: ReceivedRequest) => FakeReply | Promise<FakeReply>;

export interface FakeSubgraph {
  url: string;
  requests: ReceivedRequest[];
  /** Replaces how it answers (tests change the subgraph's behaviour between steps). */
  handle(handler: FakeHandler): void;
  close(): Promise<void>;
}

/**
 * A stand-in subgraph: answers GraphQL-shaped JSON from a handler, with whatever Cache-Control the
 * test wants, and records every request so tests can count what reached it.
 */
export async function startFakeSubgraph(handler: FakeHandler): Promise<FakeSubgraph> {
  let current = handler;
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    // The router's /ready probes each subgraph's /health.
    if (req.method === 'GET' && req.url?.startsWith('/health')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const { query, variables } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query: string; variables?: Record<string, any> };
      const request = { query, variables: variables ?? {}, headers: req.headers };
      requests.push(request);
      try {
        const reply = await current(request);
        res.writeHead(reply.status ?? 200, {
          'content-type': 'application/json',
          ...(reply.cacheControl ? { 'cache-control': reply.cacheControl } : {}),
        });
        res.end(JSON.stringify(reply.body));
      } catch (error) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ message: String(error) }] }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    requests,
    handle(next) {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The representations of an `_entities` request. */
export const representationsOf = (request: ReceivedRequest) =>
  (request.variables.representations ?? []) as { __typename: string; id: string }[];

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
