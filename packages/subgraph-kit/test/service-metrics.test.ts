import { describe, expect, it } from 'vitest';
import { createServiceMetrics } from '../src/metrics.ts';

describe('db_pool_connections', () => {
  it('reads the pool at scrape time, by state', async () => {
    const metrics = createServiceMetrics('svc', { defaults: false });
    let waiting = 0;
    metrics.watchPool(() => ({ total: 10, idle: 3, waiting }));
    waiting = 4;
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^db_pool_connections\{state="total",service="svc"\} 10$/m);
    expect(text).toMatch(/^db_pool_connections\{state="idle",service="svc"\} 3$/m);
    expect(text).toMatch(/^db_pool_connections\{state="waiting",service="svc"\} 4$/m);
  });

  it('includes event-loop lag among the default metrics', async () => {
    const text = await createServiceMetrics('svc').registry.metrics();
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds\{service="svc"\} /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds\{service="svc"\} /m);
  });
});
