import type { TestProject } from 'vitest/node';
import { startRedisCluster } from '../../src/testing.ts';

/**
 * Global setup of the `unit-redis-cluster` project: a real Redis Cluster of three primaries (no
 * replicas), started from `redis-server` on free ports (see startRedisCluster), removed on
 * teardown. The project's workers get REDIS_URL (the three nodes, comma-separated) and
 * REDIS_CLUSTER=true; they are set on the project's own env rather than process.env, so a run with
 * `unit-redis` in the same command keeps that project on the single Redis.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startRedisCluster(3);
  Object.assign((project.config.env ??= {}), cluster.env);
  return cluster.close;
}
