import { event } from '@shop/events';
import { codedError } from '@shop/platform';
import type { MutationResolvers } from '../__generated__/resolvers-types.ts';
import { createUserWrites } from '../db/repository.ts';
import { hashPassword, unknownUserHash, verifyPassword } from '../passwords.ts';
import { MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH, normalizeEmail, validateSignUp } from '../validation.ts';

// One message for a wrong email and a wrong password, so logIn does not reveal who has an account.
const INVALID_CREDENTIALS = 'Email or password is incorrect';

const isCode = (error: unknown, code: string) => (error as { extensions?: { code?: unknown } } | null)?.extensions?.code === code;

export const Mutation: MutationResolvers = {
  async signUp(_parent, { input }, { loaders, tokens, hashing, clientIp, write }) {
    const account = validateSignUp(input);
    const passwordHash = await hashing.run(clientIp, () => hashPassword(account.password));
    // A new account: nothing cached names it yet, so its event carries no cache tags.
    const user = await write(async (tx) => {
      const created = await createUserWrites(tx).insertAccount({
        email: account.email,
        name: account.name,
        region: account.region,
        passwordHash,
      });
      if (!created) throw codedError('EMAIL_TAKEN', 'An account with this email already exists', { field: 'email' });
      return { value: created, events: [event('user.created', created.id, { userId: created.id, region: created.region }, [])] };
    });
    loaders.userById.prime(user.id, user);
    return { token: await tokens.issue(user), user };
  },

  async logIn(_parent, { email, password }, { repo, loaders, tokens, hashing, signInThrottle, throttled, clientIp }) {
    const address = normalizeEmail(email);
    // Before any work: this (account, address) pair may be backing off after repeated attempts.
    const waitMs = signInThrottle.attempt(address, clientIp);
    if (waitMs > 0) {
      throttled();
      const seconds = Math.ceil(waitMs / 1000);
      throw codedError('RATE_LIMITED', `Too many sign-in attempts for this account from your address; retry in ${seconds} s`, {
        retryAfterSeconds: seconds,
      });
    }
    // No account has an email or password this long (sign-up refuses them): no hash needed. In
    // UTF-16 units, which are at most two per character.
    if (address.length > 2 * MAX_EMAIL_LENGTH || password.length > 2 * MAX_PASSWORD_LENGTH) {
      throw codedError('INVALID_CREDENTIALS', INVALID_CREDENTIALS);
    }
    let checked: { credentials: Awaited<ReturnType<typeof repo.credentialsByEmail>>; matches: boolean };
    try {
      // The lookup too holds the client's place, so its share is taken the moment it asks.
      checked = await hashing.run(clientIp, async () => {
        const found = await repo.credentialsByEmail(address);
        // Run scrypt even for an unknown email, so timing does not tell the two cases apart.
        return { credentials: found, matches: await verifyPassword(password, found?.passwordHash ?? (await unknownUserHash())) };
      });
    } catch (error) {
      if (isCode(error, 'RATE_LIMITED')) signInThrottle.refund(address, clientIp); // refused as busy: nothing was tried
      throw error;
    }
    const { credentials, matches } = checked;
    if (!credentials || !matches) throw codedError('INVALID_CREDENTIALS', INVALID_CREDENTIALS);
    signInThrottle.succeeded(address, clientIp);
    loaders.userById.prime(credentials.user.id, credentials.user);
    return { token: await tokens.issue(credentials.user), user: credentials.user };
  },
};
