import { randomBytes } from 'node:crypto';
import { createInvalidationBus, createLogger, type InvalidationBus } from '../src/index.ts';

/** Shared by bus.test.ts and bus.redis.test.ts. */
const logger = createLogger('bus-test', 'silent');
/** A channel of this test's own: parallel runs on one Redis do not hear each other. */
export const channel = () => `test:${randomBytes(6).toString('hex')}:invalidate`;

const open: InvalidationBus[] = [];
/** A bus that `closeBuses` closes; call that after each test. */
export const bus = (options: Partial<Parameters<typeof createInvalidationBus>[0]> & { channel: string }) => {
  const created = createInvalidationBus({ logger, ...options });
  open.push(created);
  return created;
};
export async function closeBuses() {
  await Promise.all(open.splice(0).map((b) => b.close()));
}

/** Resolves with the next tags a bus delivers to a new subscriber. */
export const nextTags = (b: InvalidationBus) =>
  new Promise<string[]>((resolve) => {
    const stop = b.subscribe((tags) => {
      stop();
      resolve(tags);
    });
  });
