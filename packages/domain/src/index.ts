export * from './cart-limits.ts';
export * from './ids.ts';
export * from './money.ts';
export * from './regions.ts';
