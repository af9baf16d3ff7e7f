import type { RegionCode } from '@shop/domain';

/**
 * Domain model the repository returns; codegen maps `User` onto it. It never carries the password
 * hash: that is read only by the credential lookup, so no resolver can hand it out.
 */
export interface UserModel {
  id: string;
  email: string;
  name: string;
  region: RegionCode;
  /** Granted scopes (`admin`); go into the token, not into the API. */
  scopes: string[];
  createdAt: Date;
}

/** What logIn needs: the account and its stored hash. */
export interface CredentialsModel {
  user: UserModel;
  passwordHash: string;
}
