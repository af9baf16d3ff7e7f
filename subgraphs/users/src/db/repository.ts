import type { Queryable, WriteTransaction } from '@shop/subgraph-kit';
import type { CredentialsModel, UserModel } from '../models.ts';

const USER_COLUMNS = 'id, email, name, region, scopes, created_at AS "createdAt"';
const EMAIL_UNIQUE = 'account_email_key';

export interface NewAccount {
  email: string;
  name: string;
  region: UserModel['region'];
  passwordHash: string;
}

/** The users subgraph's reads. Batch functions take many keys and run one statement; the writes are createUserWrites. */
export function createUserRepository(db: Queryable) {
  return {
    usersByIds: (ids: readonly string[]) =>
      db.query<UserModel>(`SELECT ${USER_COLUMNS} FROM users.account WHERE id = ANY($1::text[])`, [ids]),

    /** `email` must already be normalized. */
    async credentialsByEmail(email: string): Promise<CredentialsModel | undefined> {
      const [row] = await db.query<UserModel & { passwordHash: string }>(
        `SELECT ${USER_COLUMNS}, password_hash AS "passwordHash" FROM users.account WHERE email = $1`,
        [email],
      );
      if (!row) return undefined;
      const { passwordHash, ...user } = row;
      return { user, passwordHash };
    },
  };
}

/**
 * The users subgraph's writes, over the transaction of a `write` (see the kit's write.ts): the only
 * way to reach them, so none commits without its events (user.created for a new account).
 */
export function createUserWrites(tx: WriteTransaction) {
  return {
    /**
     * Creates a customer account (never with scopes). Returns null when the email is taken: the
     * unique constraint decides, so two concurrent sign-ups with one email cannot both succeed.
     */
    async insertAccount(account: NewAccount): Promise<UserModel | null> {
      try {
        const [row] = await tx.query<UserModel>(
          `INSERT INTO users.account (email, name, region, password_hash) VALUES ($1, $2, $3, $4) RETURNING ${USER_COLUMNS}`,
          [account.email, account.name, account.region, account.passwordHash],
        );
        return row ?? null;
      } catch (error) {
        if (isUniqueViolation(error, EMAIL_UNIQUE)) return null;
        throw error;
      }
    },
  };
}

/** SQLSTATE 23505 on the named constraint; pg and PGlite both report `code` and `constraint`. */
function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23505' && (e.constraint === undefined || e.constraint === constraint);
}

export type UserRepository = ReturnType<typeof createUserRepository>;
