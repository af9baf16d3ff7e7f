export * from './catalogue.ts';
export * from './envelope.ts';
export * from './stream.ts';
export * from './metrics.ts';
export * from './in-process.ts';
export * from './jetstream.ts';
export * from './open.ts';
export * from './invalidation.ts';
