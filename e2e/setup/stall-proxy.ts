import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { pairSockets } from '@shop/platform/testing';

/**
 * A loopback TCP proxy in front of an HTTP service that a test can stall: while paused it still
 * accepts connections but forwards nothing (a hung process, a saturated event loop, a black-holed
 * network), so callers wait until their own timeout. It counts what reaches it, so a test can show
 * that a circuit breaker stopped sending. (Like the platform's `redisProxy`, but for any HTTP URL,
 * it drops what it held when resumed instead of replaying it: the callers gave up long ago.)
 */
export interface StallProxy {
  /** `target` with host and port replaced by the proxy's. */
  url: string;
  pause(): void;
  resume(): void;
  /** Connections accepted so far. */
  connections(): number;
  /** Chunks received from callers so far, forwarded or not. */
  chunks(): number;
  close(): Promise<void>;
}

export async function stallProxy(target: string): Promise<StallProxy> {
  const upstreamUrl = new URL(target);
  let paused = false;
  let connections = 0;
  let chunks = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    connections++;
    const upstream = pairSockets(socket, connect(Number(upstreamUrl.port), upstreamUrl.hostname), sockets);
    socket.on('data', (chunk) => {
      chunks++;
      if (!paused) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!paused) socket.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    pause: () => void (paused = true),
    resume() {
      // A connection that carried a stalled request is in an unknown state: cut them all, callers reconnect.
      paused = false;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    connections: () => connections,
    chunks: () => chunks,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        sockets.clear();
        server.close(() => resolve());
      }),
  };
}
