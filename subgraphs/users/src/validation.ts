import { badInput } from '@shop/platform';
import type { SignUpInput } from './__generated__/resolvers-types.ts';

export const MAX_EMAIL_LENGTH = 254;
export const MAX_NAME_LENGTH = 100;
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 128;

/** Passwords that meet the length and mix rules but appear near the top of every breach list. */
const COMMON_PASSWORDS = new Set([
  'password',
  'password1',
  'password12',
  'password123',
  'passw0rd',
  'p@ssw0rd',
  'p@ssword',
  '12345678',
  '123456789',
  '1234567890',
  '12345678a',
  'qwerty12',
  'qwerty123',
  'qwertyuiop1',
  '1q2w3e4r',
  '1qaz2wsx',
  'abc12345',
  'abcd1234',
  'iloveyou1',
  'letmein1',
  'welcome1',
  'welcome123',
  'admin123',
  'administrator1',
  'changeme1',
  'trustno1',
  'football1',
  'baseball1',
  'sunshine1',
  'monkey123',
  'princess1',
  'dragon123',
  'master123',
  'shop12345',
]);

// Basic shape only (one @, a dot in the domain, no spaces); the real check is a confirmation mail.
const EMAIL_SHAPE = /^[^\s@]{1,64}@[^\s@.]+(\.[^\s@.]+)+$/;
const CONTROL_CHARS = /\p{Cc}/u;

/** Emails are compared trimmed and in lower case everywhere (sign-up, log-in, the unique constraint). */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

const length = (text: string) => [...text].length;

export interface ValidSignUp {
  email: string;
  name: string;
  password: string;
  region: SignUpInput['region'];
}

/** Throws BAD_USER_INPUT naming the first field that is wrong (`extensions.field`). */
export function validateSignUp(input: SignUpInput): ValidSignUp {
  const email = normalizeEmail(input.email);
  if (length(email) > MAX_EMAIL_LENGTH) {
    throw badInput(`Email must be at most ${MAX_EMAIL_LENGTH} characters`, { field: 'email' });
  }
  if (!EMAIL_SHAPE.test(email)) throw badInput('Email is not a valid address', { field: 'email' });

  const name = input.name.trim();
  if (length(name) < 1 || length(name) > MAX_NAME_LENGTH) {
    throw badInput(`Name must be 1 to ${MAX_NAME_LENGTH} characters`, { field: 'name' });
  }
  if (CONTROL_CHARS.test(name)) throw badInput('Name must not contain control characters', { field: 'name' });

  const { password } = input;
  const passwordLength = length(password);
  if (passwordLength < MIN_PASSWORD_LENGTH || passwordLength > MAX_PASSWORD_LENGTH) {
    throw badInput(`Password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`, { field: 'password' });
  }
  const lower = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lower) || lower === email || lower === email.split('@')[0]) {
    throw badInput('Password is too common or too easy to guess; choose another', { field: 'password' });
  }
  if (!/\p{L}/u.test(password) || !/\P{L}/u.test(password)) {
    throw badInput('Password must contain at least one letter and one digit or symbol', { field: 'password' });
  }
  return { email, name, password, region: input.region };
}
