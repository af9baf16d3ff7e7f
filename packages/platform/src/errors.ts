import { GraphQLError } from 'graphql';

/** The error codes clients can rely on (`extensions.code`). */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'EMAIL_TAKEN'
  | 'INVALID_CREDENTIALS'
  | 'OUT_OF_STOCK'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'DEPENDENCY_UNAVAILABLE'
  | 'PAYMENT_DECLINED'
  | 'PAYMENT_UNAVAILABLE'
  | 'IDEMPOTENCY_KEY_EXPIRED'
  | 'RATE_LIMITED'
  | 'INTERNAL_SERVER_ERROR';

/**
 * Codes whose messages our subgraphs write for the people using the shop ("Not enough stock for
 * p42 in IN"). In production the router passes these messages through and redacts the rest
 * (router/src/errors.ts).
 */
export const PUBLIC_ERROR_CODES = [
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'EMAIL_TAKEN',
  'INVALID_CREDENTIALS',
  'OUT_OF_STOCK',
  'IDEMPOTENCY_KEY_REUSED',
  'DEPENDENCY_UNAVAILABLE',
  'PAYMENT_DECLINED',
  'PAYMENT_UNAVAILABLE',
  'IDEMPOTENCY_KEY_EXPIRED',
  'RATE_LIMITED',
] as const satisfies readonly ErrorCode[];

export function codedError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

export const badInput = (message: string, extra?: Record<string, unknown>) => codedError('BAD_USER_INPUT', message, extra);
export const notFound = (message: string) => codedError('NOT_FOUND', message);
export const unauthenticated = (message = 'Sign in to see this') => codedError('UNAUTHENTICATED', message);
export const forbidden = (message = 'Not allowed') => codedError('FORBIDDEN', message);

/** True for errors thrown on purpose with a code; anything else is an internal fault to be masked. */
export function isCodedError(error: unknown): boolean {
  // Duck-typed: a GraphQLError from another copy of graphql-js still counts.
  return typeof (error as GraphQLError | undefined)?.extensions?.code === 'string';
}
