import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../src/catalogue.ts';

/** The README's event catalogue: the first cell of each row of the table under "Event catalogue". */
function readmeTypes(): string[] {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('**Event catalogue**');
  expect(start).toBeGreaterThan(0);
  const table = readme.slice(start).split('\n\n')[1] ?? '';
  return [...table.matchAll(/^\| `([a-z]+\.[a-z]+)` \|/gm)].map((m) => m[1]!);
}

describe('the event catalogue', () => {
  it('documents in the README exactly the types the code can publish, in the same order', () => {
    expect(readmeTypes()).toEqual(Object.keys(EVENT_TYPES));
  });

  it('covers at least the types the issue names', () => {
    const required = [
      'product.created',
      'product.updated',
      'product.discontinued',
      'price.changed',
      'promotion.started',
      'promotion.ended',
      'stock.changed',
      'order.placed',
      'order.cancelled',
      'order.shipped',
      'order.delivered',
      'payment.authorised',
      'payment.captured',
      'payment.voided',
      'payment.failed',
    ];
    for (const type of required) expect(Object.keys(EVENT_TYPES)).toContain(type);
  });
});
