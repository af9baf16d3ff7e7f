import type { Viewer } from '@shop/service-kit';
import type { ResponseCachePolicy } from './cache/policy.ts';

export interface RouterContext {
  viewer: Viewer | null;
  requestId: string;
  clientName: string;
  /** Narrowed by every subgraph fetch of the request; becomes the response's Cache-Control. */
  cachePolicy: ResponseCachePolicy;
}
