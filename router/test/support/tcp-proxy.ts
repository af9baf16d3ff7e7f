import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy to `host:port` that a test can cut and restore, to take one client off a server that
 * everyone else still reaches (the pattern of redisProxy in @shop/platform/testing). While cut,
 * every connection through it is closed and new ones are accepted and closed at once: the client
 * sees its server go away and its reconnects fail, until `restore`. The port stays bound
 * throughout, so nothing else can take it in between.
 */
export interface TcpProxy {
  port: number;
  /** `<scheme>://127.0.0.1:<port>`. */
  url(scheme: string): string;
  cut(): void;
  restore(): void;
  /** Connections accepted while cut (each closed at once): the client tried to come back. */
  refused(): number;
  close(): Promise<void>;
}

export async function tcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let cut = false;
  let refused = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    if (cut) {
      refused++;
      socket.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    sockets.add(socket).add(upstream);
    socket.pipe(upstream);
    upstream.pipe(socket);
    const close = () => {
      socket.destroy();
      upstream.destroy();
      sockets.delete(socket);
      sockets.delete(upstream);
    };
    socket.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  return {
    port,
    url: (scheme) => `${scheme}://127.0.0.1:${port}`,
    cut() {
      cut = true;
      dropAll();
    },
    restore() {
      cut = false;
    },
    refused: () => refused,
    close: () =>
      new Promise<void>((resolve) => {
        dropAll();
        server.close(() => resolve());
      }),
  };
}
