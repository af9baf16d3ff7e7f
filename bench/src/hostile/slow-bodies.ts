/**
 * F9: connections that announce `Content-Length: 100000` and then send one body byte every 5 s.
 * A listener with header, body and idle timeouts closes them; one without holds them for ever.
 * The bench opens a bounded number, spread over the router and the subgraphs, notes when (and
 * whether) the server closed each, and closes whatever is still open when it stops.
 */
import { connect, type Socket } from 'node:net';

const BYTE_EVERY_MS = 5_000;

export interface SlowBodyResult {
  target: string;
  opened: number;
  /** Connections refused or failed before the request line was written. */
  failedToOpen: number;
  /** Closed by the server (timeout, reset or an answer) before the bench stopped. */
  closedByServer: number;
  /** Still open when the bench stopped; it closed them. */
  heldToEnd: number;
  /**
   * Of those, the ones open longer than `judgeAfterMs`: a listener with a request timeout should
   * have cut them by then (Node checks the timeout only every 30 s, so a young one proves nothing).
   */
  heldPastJudging: number;
  /** How long the server kept the longest-lived of the connections it closed. */
  longestHeldMs: number | undefined;
  /** The status lines the server answered with, if any (e.g. 408). */
  answers: Record<string, number>;
}

export interface SlowBodies {
  results(): SlowBodyResult[];
  /** Destroys every connection still open and stops the trickle. */
  close(): void;
}

/**
 * Opens `count` slow-body connections to each target's `url` (an HTTP URL), from the given source
 * addresses in turn, staggered over `spreadMs` so they do not all land in one tick.
 */
export function openSlowBodies(
  targets: readonly { name: string; url: string; count: number }[],
  localAddresses: readonly string[],
  spreadMs: number,
  judgeAfterMs: number,
): SlowBodies {
  interface Connection {
    socket: Socket;
    openedAt: number;
    /** The request line and headers are out; only from then on does the trickle write. */
    started?: boolean;
    closedAt?: number;
    failed?: boolean;
  }
  const byTarget = new Map<string, { connections: Connection[]; answers: Record<string, number> }>();
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  let n = 0;
  for (const { name, url, count } of targets) {
    const { hostname, port } = new URL(url);
    const entry = { connections: [] as Connection[], answers: {} as Record<string, number> };
    byTarget.set(name, entry);
    for (let i = 0; i < count; i++) {
      const localAddress = localAddresses[n++ % localAddresses.length]!;
      timers.push(
        setTimeout(
          () => {
            if (stopped) return;
            const socket = connect({ host: hostname, port: Number(port), localAddress });
            const connection: Connection = { socket, openedAt: Date.now() };
            entry.connections.push(connection);
            socket.setNoDelay(true);
            socket.once('connect', () => {
              socket.write(
                `POST /graphql HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`,
              );
              connection.started = true;
            });
            socket.on('data', (chunk: Buffer) => {
              const statusLine = /^HTTP\/1\.[01] (\d{3})/.exec(chunk.toString('latin1'));
              if (statusLine) entry.answers[statusLine[1]!] = (entry.answers[statusLine[1]!] ?? 0) + 1;
            });
            socket.on('error', () => {
              if (!socket.bytesWritten) connection.failed = true;
            });
            socket.once('close', () => {
              if (!stopped) connection.closedAt = Date.now();
            });
          },
          Math.floor((i / Math.max(1, count)) * spreadMs),
        ),
      );
    }
  }
  const trickle = setInterval(() => {
    for (const { connections } of byTarget.values()) {
      for (const c of connections) if (c.started && !c.socket.destroyed && c.socket.writable) c.socket.write(' ');
    }
  }, BYTE_EVERY_MS);
  return {
    results: () =>
      [...byTarget.entries()].map(([target, { connections, answers }]) => {
        const closed = connections.filter((c) => c.closedAt !== undefined && !c.failed);
        return {
          target,
          opened: connections.filter((c) => !c.failed).length,
          failedToOpen: connections.filter((c) => c.failed).length,
          closedByServer: closed.length,
          heldToEnd: connections.filter((c) => c.closedAt === undefined && !c.failed).length,
          heldPastJudging: connections.filter((c) => c.closedAt === undefined && !c.failed && Date.now() - c.openedAt > judgeAfterMs)
            .length,
          longestHeldMs: closed.length ? Math.max(...closed.map((c) => c.closedAt! - c.openedAt)) : undefined,
          answers,
        };
      }),
    close() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      clearInterval(trickle);
      for (const { connections } of byTarget.values()) for (const c of connections) c.socket.destroy();
    },
  };
}
