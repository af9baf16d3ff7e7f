import { describe, expect, it } from 'vitest';
import { combinePolicies, ResponseCachePolicy } from '../src/cache/policy.ts';

const pub = (maxAge: number) => ({ cacheable: true, maxAge, scope: 'PUBLIC' }) as const;
const priv = (maxAge: number) => ({ cacheable: true, maxAge, scope: 'PRIVATE' }) as const;
const noStore = { cacheable: false } as const;

describe('client Cache-Control for a whole response', () => {
  const header = (policies: Parameters<ResponseCachePolicy['restrict']>[0][], options?: { uncacheable?: boolean }) => {
    const policy = new ResponseCachePolicy();
    for (const p of policies) policy.restrict(p);
    return policy.header(options);
  };

  it('is public with the lowest max-age of its fetches', () => {
    expect(header([pub(600), pub(5), pub(60)])).toBe('public, max-age=5');
  });

  it('is private when any fetch was private', () => {
    expect(header([pub(600), priv(300), pub(60)])).toBe('private, max-age=60');
  });

  it('is no-store when any fetch was not cacheable', () => {
    expect(header([pub(600), noStore, priv(60)])).toBe('no-store');
  });

  it('is no-store for a response with errors or a mutation, whatever the fetches said', () => {
    expect(header([pub(600)], { uncacheable: true })).toBe('no-store');
  });

  it('is no-store when nothing was fetched: there is no hint to go by', () => {
    expect(header([])).toBe('no-store');
  });
});

describe('combining two policies', () => {
  it('takes the stricter of each part', () => {
    expect(combinePolicies(pub(60), priv(300))).toEqual(priv(60));
    expect(combinePolicies(pub(60), pub(5))).toEqual(pub(5));
    expect(combinePolicies(pub(60), noStore)).toEqual(noStore);
  });
});
