import { ADMIN_USER_ID, REGIONS } from '@shop/domain';
import { progress, type Database, type SeedSize } from '@shop/subgraph-kit';
import { hashPassword } from '../passwords.ts';

const FIRST_NAMES = [
  'Aarav',
  'Priya',
  'Wei',
  'Mei',
  'Omar',
  'Layla',
  'James',
  'Emma',
  'Rohan',
  'Ananya',
  'Jun',
  'Siti',
  'Yusuf',
  'Fatima',
  'Noah',
  'Olivia',
  'Arjun',
  'Kavya',
  'Hao',
  'Nur',
  'Karim',
  'Aisha',
  'Liam',
  'Ava',
];
const LAST_NAMES = [
  'Sharma',
  'Patel',
  'Tan',
  'Lim',
  'Haddad',
  'Khan',
  'Smith',
  'Johnson',
  'Iyer',
  'Reddy',
  'Wong',
  'Rahman',
  'Nasser',
  'Ali',
  'Brown',
  'Garcia',
  'Menon',
  'Nair',
  'Chen',
  'Abdullah',
  'Saleh',
  'Farouk',
  'Miller',
  'Davis',
];

const sqlArray = (values: readonly string[]) => `ARRAY[${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',')}]`;

/**
 * Deterministic accounts: customers u1..uN (`user<N>@example.com` / `password`) over the four
 * regions, and the admin u0 (`admin@example.com` / `admin`). Skipped when the admin exists.
 *
 * DEVELOPMENT ONLY: every seeded customer shares ONE scrypt hash (one salt) of `password`, because
 * hashing a thousand passwords one by one would add tens of seconds to start-up. Real accounts
 * (signUp) always get their own salt.
 */
export async function seed(db: Database, size: SeedSize): Promise<boolean> {
  const [existing] = await db.query<{ count: number }>('SELECT count(*)::int AS count FROM users.account WHERE id = $1', [ADMIN_USER_ID]);
  if ((existing?.count ?? 0) > 0) return false;
  progress('users', `seeding ${size.users.toLocaleString('en')} customers and an admin`);
  const [customerHash, adminHash] = await Promise.all([hashPassword('password'), hashPassword('admin')]);
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO users.account (id, email, name, region, password_hash, scopes, created_at)
       VALUES ($1, 'admin@example.com', 'Shop Admin', 'US', $2, ARRAY['admin'], timestamptz '2024-01-01T00:00:00Z')
       ON CONFLICT DO NOTHING`,
      [ADMIN_USER_ID, adminHash],
    );
    await tx.query(
      `INSERT INTO users.account (id, email, name, region, password_hash, created_at)
       SELECT 'u' || i, 'user' || i || '@example.com', f || ' ' || l,
              (${sqlArray(REGIONS)})[1 + (i - 1) % ${REGIONS.length}],
              $2,
              timestamptz '2024-01-01T00:00:00Z' + i * interval '37 minutes'
       FROM generate_series(1, $1::int) AS i,
            LATERAL (SELECT (${sqlArray(FIRST_NAMES)})[1 + (i - 1) % ${FIRST_NAMES.length}] AS f,
                            (${sqlArray(LAST_NAMES)})[1 + ((i - 1) / ${FIRST_NAMES.length} + i * 7) % ${LAST_NAMES.length}] AS l) AS names
       ON CONFLICT DO NOTHING`,
      [size.users, customerHash],
    );
  });
  progress('users', 'done');
  return true;
}
