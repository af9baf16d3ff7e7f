import type { Viewer } from '@shop/service-kit';
import type { UserRepository } from './db/repository.ts';
import type { Loaders } from './loaders.ts';
import type { TokenIssuer } from './tokens.ts';

export interface Context {
  viewer: Viewer | null;
  repo: UserRepository;
  loaders: Loaders;
  tokens: TokenIssuer;
}
