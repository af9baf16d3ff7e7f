import type { Viewer } from '@shop/service-kit';

export interface RouterContext {
  viewer: Viewer | null;
  requestId: string;
  clientName: string;
}
