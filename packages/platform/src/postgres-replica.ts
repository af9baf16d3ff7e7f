import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './testing.ts';

const run = promisify(execFile);

/**
 * A real streaming replica of the local PostgreSQL, for tests of read replicas: a database of its
 * own created on the primary, then `pg_basebackup -R -X stream` of the primary into a temporary
 * directory, started with the primary's binaries on a free port. It stays a hot standby that
 * streams everything the primary commits.
 */
export interface PostgresReplica {
  /** The test's database on the primary, and the same database on the replica. */
  primaryUrl: string;
  replicaUrl: string;
  database: string;
  port: number;
  /** SIGSTOP the replica's every process: connections are accepted by the kernel and answered by no one. */
  pause(): Promise<void>;
  /** SIGCONT what `pause` stopped. */
  resume(): Promise<void>;
  /** A fast shutdown (SIGINT): the port is closed until `start`. */
  stop(): Promise<void>;
  /** Starts the stopped replica again on the same port and directory; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops the replica, removes its directory and drops the database on the primary. */
  close(): Promise<void>;
}

export interface PostgresReplicaOptions {
  /** The primary; PGHOST/PGPORT/PGUSER or 127.0.0.1:5432 as postgres. */
  host?: string;
  port?: number;
  user?: string;
  /** The database to create on the primary (dropped first if it exists); a unique name by default. */
  database?: string;
}

/**
 * The settings a hot standby must have at least as high as its primary's, or it refuses to start.
 * Copied from the primary rather than guessed.
 */
const STANDBY_MINIMUMS = [
  'max_connections',
  'max_worker_processes',
  'max_wal_senders',
  'max_prepared_transactions',
  'max_locks_per_transaction',
];

export async function startPostgresReplica(options: PostgresReplicaOptions = {}): Promise<PostgresReplica> {
  const host = options.host ?? process.env.PGHOST ?? '127.0.0.1';
  const primaryPort = options.port ?? Number(process.env.PGPORT ?? 5432);
  const user = options.user ?? process.env.PGUSER ?? 'postgres';
  const database = options.database ?? `shop_replica_${randomBytes(4).toString('hex')}`;
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`not a plain database name: ${database}`);
  const bindir = (await run('pg_config', ['--bindir'])).stdout.trim();
  const psql = (sql: string, db = 'postgres') =>
    run(join(bindir, 'psql'), ['-h', host, '-p', String(primaryPort), '-U', user, '-d', db, '-v', 'ON_ERROR_STOP=1', '-Atc', sql]);

  // Postgres refuses to run as root: under root (CI, containers) the replica runs as `postgres`.
  const owner = process.getuid?.() === 0 ? await osUser('postgres') : undefined;
  const dir = await mkdtemp(join(tmpdir(), 'shop-pg-replica-'));
  const data = join(dir, 'data');
  if (owner) await chown(dir, owner.uid, owner.gid);
  await chmod(dir, 0o700);
  const as = owner ? { uid: owner.uid, gid: owner.gid } : {};

  await psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await psql(`CREATE DATABASE ${database}`);
  const dropDatabase = () => psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});

  const port = await freePort();
  let postmaster: ChildProcess | undefined;
  let paused: number[] = [];

  const launch = async () => {
    const log = await open(join(dir, 'postgres.log'), 'a');
    const child = spawn(join(bindir, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1'], {
      ...as,
      stdio: ['ignore', log.fd, log.fd],
    });
    await log.close();
    postmaster = child;
    await accepting(bindir, port, child, join(dir, 'postgres.log'));
  };

  const stop = async () => {
    const child = postmaster;
    postmaster = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await resume();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGINT'); // fast shutdown
    });
  };

  async function resume() {
    for (const pid of paused) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone already
      }
    }
    paused = [];
  }

  try {
    await run(
      join(bindir, 'pg_basebackup'),
      ['-h', host, '-p', String(primaryPort), '-U', user, '-D', data, '-R', '-X', 'stream', '-c', 'fast'],
      as,
    );
    // A Debian primary keeps postgresql.conf and pg_hba.conf in /etc, outside what pg_basebackup copies.
    const { stdout } = await psql(
      `SELECT name || '=' || setting FROM pg_settings WHERE name IN (${STANDBY_MINIMUMS.map((n) => `'${n}'`).join(',')})`,
    );
    const conf = [
      ...stdout.trim().split('\n'),
      'hot_standby=on',
      'hot_standby_feedback=on',
      'logging_collector=off',
      "shared_preload_libraries=''",
    ];
    await writeOwned(join(data, 'postgresql.conf'), `${conf.join('\n')}\n`, owner);
    await writeOwned(join(data, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n', owner);
    await writeOwned(join(data, 'pg_ident.conf'), '', owner);
    await launch();
  } catch (error) {
    await stop();
    await rm(dir, { recursive: true, force: true });
    await dropDatabase();
    throw error;
  }

  return {
    primaryUrl: `postgres://${user}@${host}:${primaryPort}/${database}`,
    replicaUrl: `postgres://${user}@127.0.0.1:${port}/${database}`,
    database,
    port,
    async pause() {
      const pid = postmaster?.pid;
      if (pid === undefined) throw new Error('the replica is not running');
      // The postmaster first, so it starts no new backend; then every child it has (each in a session of its own).
      process.kill(pid, 'SIGSTOP');
      paused = [pid, ...(await childrenOf(pid))];
      for (const child of paused.slice(1)) process.kill(child, 'SIGSTOP');
    },
    resume,
    stop,
    async start() {
      if (postmaster) throw new Error('the replica is running');
      await launch();
    },
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
      await dropDatabase();
    },
  };
}

async function osUser(name: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function writeOwned(path: string, text: string, owner: { uid: number; gid: number } | undefined): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
  if (owner) await chown(path, owner.uid, owner.gid);
}

/** Processes whose parent is `pid` (from /proc). */
async function childrenOf(pid: number): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** Resolves once the server accepts connections (a hot standby: once it has reached a consistent state). */
async function accepting(bindir: string, port: number, child: ChildProcess, logFile: string): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      throw new Error(`the replica exited (${child.exitCode ?? child.signalCode}):\n${log.slice(-2_000)}`);
    }
    try {
      await run(join(bindir, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q']);
      return;
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the replica on port ${port} did not accept connections within 60 s`);
}
