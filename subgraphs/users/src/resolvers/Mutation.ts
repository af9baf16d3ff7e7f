import { codedError } from '@shop/service-kit';
import type { MutationResolvers } from '../__generated__/resolvers-types.ts';
import { hashPassword, unknownUserHash, verifyPassword } from '../passwords.ts';
import { normalizeEmail, validateSignUp } from '../validation.ts';

// One message for a wrong email and a wrong password, so logIn does not reveal who has an account.
const INVALID_CREDENTIALS = 'Email or password is incorrect';

export const Mutation: MutationResolvers = {
  async signUp(_parent, { input }, { repo, loaders, tokens }) {
    const account = validateSignUp(input);
    const passwordHash = await hashPassword(account.password);
    const user = await repo.insertAccount({ email: account.email, name: account.name, region: account.region, passwordHash });
    if (!user) throw codedError('EMAIL_TAKEN', 'An account with this email already exists', { field: 'email' });
    loaders.userById.prime(user.id, user);
    return { token: await tokens.issue(user), user };
  },

  async logIn(_parent, { email, password }, { repo, loaders, tokens }) {
    const credentials = await repo.credentialsByEmail(normalizeEmail(email));
    // Run scrypt even for an unknown email, so timing does not tell the two cases apart.
    const matches = await verifyPassword(password, credentials?.passwordHash ?? (await unknownUserHash()));
    if (!credentials || !matches) throw codedError('INVALID_CREDENTIALS', INVALID_CREDENTIALS);
    loaders.userById.prime(credentials.user.id, credentials.user);
    return { token: await tokens.issue(credentials.user), user: credentials.user };
  },
};
