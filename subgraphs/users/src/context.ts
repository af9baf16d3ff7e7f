import type { Viewer } from '@shop/platform';
import type { Write } from '@shop/subgraph-kit';
import type { UserRepository } from './db/repository.ts';
import type { HashGate } from './hash-gate.ts';
import type { Loaders } from './loaders.ts';
import type { SignInThrottle } from './sign-in-throttle.ts';
import type { TokenIssuer } from './tokens.ts';

export interface Context {
  viewer: Viewer | null;
  /** Reads; the writes (createUserWrites) take a write's transaction, so they run only through `write`. */
  repo: UserRepository;
  loaders: Loaders;
  /** Every write runs through this: one transaction, then the request's loaders cleared and the tags published. */
  write: Write;
  tokens: TokenIssuer;
  /** The client's address: the router's `x-client-ip` when the router sent it, else the peer's. */
  clientIp: string;
  /** Bounds concurrent password hashing (sign-in and sign-up), per client too. */
  hashing: HashGate;
  /** Backs off repeated sign-ins per (account, client address). */
  signInThrottle: SignInThrottle;
  /** Counts a sign-in refused by the throttle (sign_in_refusals_total{reason="throttled"}). */
  throttled: () => void;
}
