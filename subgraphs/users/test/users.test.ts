import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ConfigError, TOKEN_AUDIENCE, TOKEN_ISSUER } from '@shop/platform';
import { testCache } from '@shop/platform/testing';
import { databaseOf, SMALL_SEED } from '@shop/subgraph-kit';
import { asUser, ENTITIES_QUERY, gql, metricValue, TEST_ROUTER_SECRET, type GraphQLResponse } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { hashPassword, verifyPassword } from '../src/passwords.ts';
import { buildServer } from '../src/server.ts';
import { createTokenIssuer, verifyToken } from '../src/tokens.ts';

let app: FastifyInstance;
/** Every response body this file receives, to prove no password hash ever leaves the service. */
const bodies: string[] = [];

async function call<T = Record<string, any>>(
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const res = await gql<T>(app, query, variables, headers);
  bodies.push(JSON.stringify(res));
  return res;
}

async function jwks() {
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  expect(res.statusCode).toBe(200);
  return res.json();
}

const uniqueEmail = (tag: string) => `${tag}-${Date.now()}-${randomUUID().slice(0, 8)}@Example.COM`;

const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { token user { id email name region createdAt } } }`;
const LOG_IN =
  'mutation($email: String!, $password: String!) { logIn(email: $email, password: $password) { token user { id email name region } } }';
const USER_FIELDS = '... on User { id email name region createdAt }';

/** What the users subgraph queued in its outbox about one aggregate, oldest first. */
const eventsOf = (id: string) =>
  databaseOf(app).query<{ type: string; data: unknown; tags: unknown }>(
    'SELECT type, data, tags FROM users.outbox WHERE aggregate_id = $1 ORDER BY position',
    [id],
  );
/** user.created events whose account does not exist (a write that queued an event and then rolled back would leave one). */
const orphanEvents = async () =>
  (
    await databaseOf(app).query<{ n: number }>(
      `SELECT count(*)::int AS n FROM users.outbox o
       WHERE o.type = 'user.created' AND NOT EXISTS (SELECT 1 FROM users.account a WHERE a.id = o.aggregate_id)`,
    )
  )[0]!.n;

/** Memory, or Redis under a prefix of this file's own when the run sets REDIS_URL. */
const cache = testCache();
beforeAll(async () => {
  app = await buildServer({
    config: readConfig({ ROUTER_SECRET: TEST_ROUTER_SECRET, USERS_DATABASE_URL: process.env.USERS_DATABASE_URL, ...cache.env }),
    seedSize: SMALL_SEED,
  });
});
afterAll(async () => {
  await app?.close();
  await cache.cleanup();
});

describe('users subgraph', () => {
  it('serves an ES256 public JWKS without private members', async () => {
    const set = await jwks();
    expect(set.keys).toHaveLength(1);
    const [key] = set.keys;
    expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key.d).toBeUndefined();
  });

  it('signs up: returns the new user and a token that verifies against the served JWKS', async () => {
    const email = uniqueEmail('New.User');
    const res = await call(SIGN_UP, { input: { email: `  ${email} `, password: 'correct horse 9', name: '  Asha Rao ', region: 'SEA' } });
    expect(res.errors).toBeUndefined();
    const { token, user } = res.data!.signUp;
    expect(user).toMatchObject({ email: email.toLowerCase(), name: 'Asha Rao', region: 'SEA' });
    expect(user.id).toMatch(/^u\d+$/);
    expect(Number(user.id.slice(1))).toBeGreaterThan(1_000_000);
    expect(Date.now() - Date.parse(user.createdAt)).toBeLessThan(5 * 60_000);

    const { payload, header } = await verifyToken(token, await jwks());
    expect(payload.sub).toBe(user.id);
    expect(payload.scope).toBe('');
    expect(payload.iss).toBe(TOKEN_ISSUER);
    expect(payload.aud).toBe(TOKEN_AUDIENCE);
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(header.kid).toBe((await jwks()).keys[0].kid);

    // Every change is an event: user.created, in the outbox with the account, no cache tags.
    expect(await eventsOf(user.id)).toEqual([{ type: 'user.created', data: { userId: user.id, region: 'SEA' }, tags: [] }]);

    // The new account can log in with its password, whatever case the email is typed in.
    const login = await call(LOG_IN, { email: email.toUpperCase(), password: 'correct horse 9' });
    expect(login.errors).toBeUndefined();
    expect(login.data!.logIn.user.id).toBe(user.id);
  });

  it('refuses a second account with the same email (in any case) with EMAIL_TAKEN', async () => {
    const email = uniqueEmail('dup');
    const input = { email, password: 'Tr0ub4dor&3', name: 'First', region: 'IN' };
    expect((await call(SIGN_UP, { input })).errors).toBeUndefined();
    const again = await call(SIGN_UP, { input: { ...input, email: email.toUpperCase(), name: 'Second' } });
    expect(again.errors?.[0]?.extensions).toMatchObject({ code: 'EMAIL_TAKEN', field: 'email' });
    expect(again.data).toBeNull();
    // Also for seeded accounts.
    const seeded = await call(SIGN_UP, { input: { ...input, email: 'user1@example.com' } });
    expect(seeded.errors?.[0]?.extensions?.code).toBe('EMAIL_TAKEN');
    // A refused sign-up rolled its event back with it: every user.created names an account that exists.
    expect(await orphanEvents()).toBe(0);
  });

  it('lets only one of two concurrent sign-ups with one email through', async () => {
    const email = uniqueEmail('race');
    const input = (name: string) => ({ input: { email, password: 'race-car-77', name, region: 'ME' } });
    const results = await Promise.all([call(SIGN_UP, input('A')), call(SIGN_UP, input('B'))]);
    const codes = results.map((r) => r.errors?.[0]?.extensions?.code ?? 'OK').sort();
    expect(codes).toEqual(['EMAIL_TAKEN', 'OK']);
    const winner = results.find((r) => !r.errors)!.data!.signUp.user;
    expect(await eventsOf(winner.id)).toEqual([{ type: 'user.created', data: { userId: winner.id, region: 'ME' }, tags: [] }]);
    expect(await orphanEvents()).toBe(0);
  });

  it.each([
    ['a common password', { password: 'password1' }, 'password', /common/],
    ['"password"', { password: 'password' }, 'password', /common/],
    ['a short password', { password: 'ab1' }, 'password', /8 to 128/],
    ['a long password', { password: 'a1'.repeat(65) }, 'password', /8 to 128/],
    ['a letters-only password', { password: 'onlyletters' }, 'password', /letter and one digit or symbol/],
    ['a digits-only password', { password: '8675309123' }, 'password', /letter and one digit or symbol/],
    ['a malformed email', { email: 'not-an-email' }, 'email', /not a valid/],
    ['an email with spaces', { email: 'a b@example.com' }, 'email', /not a valid/],
    ['an over-long email', { email: `${'a'.repeat(60)}@${'b'.repeat(200)}.com` }, 'email', /at most 254/],
    ['an empty name', { name: '   ' }, 'name', /1 to 100/],
    ['a long name', { name: 'n'.repeat(101) }, 'name', /1 to 100/],
  ])('rejects %s with BAD_USER_INPUT', async (_label, override, field, message) => {
    const input = { email: uniqueEmail('bad'), password: 'fine-pass-42', name: 'Valid Name', region: 'US', ...override };
    const res = await call(SIGN_UP, { input });
    expect(res.status).toBe(200);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(res.errors?.[0]?.message).toMatch(message);
    expect(JSON.stringify(res)).not.toMatch(/INSERT|SELECT|"stack"|\.ts:\d/);
  });

  it('logs in a seeded customer and the admin; the admin token carries scope admin', async () => {
    const set = await jwks();
    const customer = await call(LOG_IN, { email: 'user1@example.com', password: 'password' });
    expect(customer.errors).toBeUndefined();
    expect(customer.data!.logIn.user).toMatchObject({ id: 'u1', email: 'user1@example.com', region: 'IN' });
    const c = await verifyToken(customer.data!.logIn.token, set);
    expect(c.payload).toMatchObject({ sub: 'u1', scope: '' });

    const admin = await call(LOG_IN, { email: 'Admin@Example.com', password: 'admin' });
    expect(admin.errors).toBeUndefined();
    expect(admin.data!.logIn.user).toMatchObject({ id: 'u0', email: 'admin@example.com' });
    const a = await verifyToken(admin.data!.logIn.token, set);
    expect(a.payload).toMatchObject({ sub: 'u0', scope: 'admin' });
  });

  it('answers a wrong password and an unknown email with the same INVALID_CREDENTIALS error', async () => {
    const wrong = await call(LOG_IN, { email: 'user2@example.com', password: 'password-nope' });
    const unknown = await call(LOG_IN, { email: uniqueEmail('nobody'), password: 'password' });
    const adminWrong = await call(LOG_IN, { email: 'admin@example.com', password: 'password' });
    for (const res of [wrong, unknown, adminWrong]) {
      expect(res.data).toBeNull();
      expect(res.errors?.[0]?.extensions?.code).toBe('INVALID_CREDENTIALS');
    }
    expect(unknown.errors![0]).toEqual(wrong.errors![0]);
    expect(adminWrong.errors![0]).toEqual(wrong.errors![0]);
  });

  it('answers me for the signed-in user and UNAUTHENTICATED when anonymous', async () => {
    const me = await call('{ me { id email name region createdAt } }', {}, asUser('u3'));
    expect(me.errors).toBeUndefined();
    expect(me.data!.me).toMatchObject({ id: 'u3', email: 'user3@example.com', region: 'ME' });
    expect(me.data!.me.createdAt).toBe(new Date(Date.parse('2024-01-01T00:00:00Z') + 3 * 37 * 60_000).toISOString());

    const anonymous = await call('{ me { id } }');
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(anonymous.data?.me ?? null).toBeNull();
  });

  it('resolves User entities for the user themself and for an admin', async () => {
    const representations = [{ __typename: 'User', id: 'u4' }];
    const self = await call(ENTITIES_QUERY(USER_FIELDS), { representations }, asUser('u4'));
    expect(self.errors).toBeUndefined();
    expect(self.data!._entities[0]).toMatchObject({ __typename: 'User', id: 'u4', email: 'user4@example.com', region: 'US' });

    const admin = await call(
      ENTITIES_QUERY(USER_FIELDS),
      {
        representations: [
          { __typename: 'User', id: 'u4' },
          { __typename: 'User', id: 'u0' },
          { __typename: 'User', id: 'u999999999' },
        ],
      },
      asUser('u0', ['admin']),
    );
    expect(admin.errors).toBeUndefined();
    const [u4, u0, missing] = admin.data!._entities;
    expect(u4).toMatchObject({ id: 'u4', email: 'user4@example.com' });
    expect(u0).toMatchObject({ id: 'u0', email: 'admin@example.com', name: 'Shop Admin' });
    expect(missing).toBeNull();
  });

  it('refuses User entities of someone else (FORBIDDEN) and to anonymous callers (UNAUTHENTICATED)', async () => {
    const representations = [{ __typename: 'User', id: 'u5' }];
    const other = await call(ENTITIES_QUERY(USER_FIELDS), { representations }, asUser('u6'));
    expect(other.data!._entities[0]).toBeNull();
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(JSON.stringify(other)).not.toContain('user5@example.com');

    const anonymous = await call(ENTITIES_QUERY(USER_FIELDS), { representations });
    expect(anonymous.data!._entities[0]).toBeNull();
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    // A mix: the viewer's own entities resolve, the other one is refused in place. Repeated because
    // Mercurius JIT-compiles a query after its first run, and the compiled form must agree.
    for (let run = 0; run < 3; run++) {
      const mixed = await call(
        ENTITIES_QUERY(USER_FIELDS),
        {
          representations: ['u6', 'u6', 'u5', 'u6', 'u5'].map((id) => ({ __typename: 'User', id })),
        },
        asUser('u6'),
      );
      expect(mixed.data!._entities).toHaveLength(5);
      expect(mixed.data!._entities.map((u: any) => u?.email ?? null)).toEqual([
        'user6@example.com',
        'user6@example.com',
        null,
        'user6@example.com',
        null,
      ]);
      expect(mixed.errors?.map((e) => [e.extensions?.code, String(e.path?.[1])])).toEqual([
        ['FORBIDDEN', '2'],
        ['FORBIDDEN', '4'],
      ]);
    }
  });

  it('batches _entities: the statement count does not grow with the number of representations', async () => {
    const counts: number[] = [];
    for (const n of [5, 100]) {
      const before = await metricValue(app, 'db_queries_total');
      const representations = Array.from({ length: n }, (_, i) => ({ __typename: 'User', id: `u${i + 1}` }));
      const res = await call(ENTITIES_QUERY(USER_FIELDS), { representations }, asUser('u0', ['admin']));
      expect(res.errors).toBeUndefined();
      expect(res.data!._entities).toHaveLength(n);
      expect(res.data!._entities[4]).toMatchObject({ id: 'u5', email: 'user5@example.com' });
      expect(res.data!._entities[SMALL_SEED.users - 1]?.email ?? null).toBe(
        n >= SMALL_SEED.users ? `user${SMALL_SEED.users}@example.com` : null,
      );
      counts.push((await metricValue(app, 'db_queries_total')) - before);
    }
    expect(counts[0]).toBe(1);
    expect(counts[1]).toBe(counts[0]);
  });

  it('does not expose password hashes: not as a field, not in any response', async () => {
    const field = await call('{ me { id passwordHash } }', {}, asUser('u1'));
    expect(field.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    // Tests run in order: every body collected by the tests above, sign-ups and log-ins included.
    expect(bodies.length).toBeGreaterThan(20);
    for (const body of bodies) {
      expect(body).not.toMatch(/scrypt\$/);
      expect(body).not.toMatch(/"passwordHash":|password_hash/);
    }
  });

  it('answers an unparsable body with 400 in GraphQL shape', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/graphql',
      payload: '{"query": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].extensions.code).toBe('BAD_REQUEST');
  });
});

describe('sign-in limits through the server (F4)', () => {
  /** What the router sends: its secret and the client's address. */
  const from = (ip: string) => ({ 'x-router-secret': TEST_ROUTER_SECRET, 'x-client-ip': ip });

  it(
    'backs off an (account, address) pair after repeated failures, ' + 'without touching the database, and never the owner elsewhere',
    async () => {
      const attacker = from('198.51.100.66');
      for (let i = 0; i < 6; i++) {
        const wrong = await call(LOG_IN, { email: 'user7@example.com', password: `wrong-${i}` }, attacker);
        expect(wrong.errors?.[0]?.extensions?.code).toBe('INVALID_CREDENTIALS');
      }
      const before = await metricValue(app, 'db_queries_total');
      const refusedBefore = await metricValue(app, 'sign_in_refusals_total');
      for (const password of ['wrong-again', 'password']) {
        const throttled = await call(LOG_IN, { email: 'User7@Example.com', password }, attacker);
        expect(throttled.data).toBeNull();
        expect(throttled.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 1 });
      }
      expect(await metricValue(app, 'db_queries_total')).toBe(before); // no lookup, so no scrypt either
      expect(await metricValue(app, 'sign_in_refusals_total')).toBe(refusedBefore + 2);
      // The owner, from their own address, signs in; another address is not throttled either.
      const owner = await call(LOG_IN, { email: 'user7@example.com', password: 'password' }, from('203.0.113.5'));
      expect(owner.errors).toBeUndefined();
      expect(owner.data!.logIn.user.id).toBe('u7');
      expect(
        (await call(LOG_IN, { email: 'user7@example.com', password: 'nope-nope' }, from('203.0.113.99'))).errors?.[0]?.extensions?.code,
      ).toBe('INVALID_CREDENTIALS');
    },
  );

  it('believes the client address only from the router: without the secret, the header is ignored', async () => {
    const spoofed = { 'x-client-ip': '198.51.100.66' }; // the throttled attacker's address, claimed by someone else
    const res = await call(LOG_IN, { email: 'user7@example.com', password: 'password' }, spoofed);
    expect(res.errors).toBeUndefined();
  });

  it("refuses, at once, hashing past one address's share while another address signs in", async () => {
    const refusedBefore = await metricValue(app, 'sign_in_refusals_total');
    const flood = Array.from({ length: 40 }, (_, i) =>
      call(LOG_IN, { email: `flood-${i}@example.com`, password: 'wrong-pass-1' }, from('198.51.100.77')),
    );
    const victim = call(LOG_IN, { email: 'user8@example.com', password: 'password' }, from('203.0.113.8'));
    const codes = (await Promise.all(flood)).map((r) => r.errors?.[0]?.extensions?.code);
    // At most PASSWORD_HASH_PER_CLIENT (8) of them run at a time: most are refused rather than queued.
    expect(codes.every((c) => c === 'INVALID_CREDENTIALS' || c === 'RATE_LIMITED')).toBe(true);
    expect(codes.filter((c) => c === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(40 - 3 * readConfig({}).hashGate.perClient);
    expect(await metricValue(app, 'sign_in_refusals_total')).toBe(refusedBefore + codes.filter((c) => c === 'RATE_LIMITED').length);
    const signedIn = await victim;
    expect(signedIn.errors).toBeUndefined();
    expect(signedIn.data!.logIn.user.id).toBe('u8');
  });

  it('answers an over-long email or password INVALID_CREDENTIALS without hashing it', async () => {
    const res = await call(LOG_IN, { email: 'user9@example.com', password: 'p'.repeat(100_000) }, from('203.0.113.9'));
    expect(res.errors?.[0]?.extensions?.code).toBe('INVALID_CREDENTIALS');
  });
});

describe('passwords', () => {
  it('hashes with a fresh salt and verifies only the right password', async () => {
    const [a, b] = await Promise.all([hashPassword('s3cret-pass'), hashPassword('s3cret-pass')]);
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('s3cret-pass', a)).toBe(true);
    expect(await verifyPassword('s3cret-pasS', a)).toBe(false);
    expect(await verifyPassword('s3cret-pass', 'scrypt$1099511627776$8$1$AAAA$AAAA')).toBe(false);
    expect(await verifyPassword('s3cret-pass', 'garbage')).toBe(false);
  });
});

describe('config and tokens', () => {
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

  it('requires JWT_PRIVATE_KEY in production and rejects keys that are not P-256', () => {
    expect(() => readConfig({ NODE_ENV: 'production', ROUTER_SECRET: 's' })).toThrow(ConfigError);
    expect(() => readConfig({ NODE_ENV: 'production', ROUTER_SECRET: 's' })).toThrow(/JWT_PRIVATE_KEY/);
    expect(readConfig({ NODE_ENV: 'production', ROUTER_SECRET: 's', JWT_PRIVATE_KEY: pem }).jwtPrivateKey).toBe(pem);
    expect(readConfig({}).jwtPrivateKey).toBeUndefined();
    expect(readConfig({}).jwtTtlSeconds).toBe(3600);
    expect(() => readConfig({ JWT_PRIVATE_KEY: 'not a key' })).toThrow(ConfigError);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(() => readConfig({ JWT_PRIVATE_KEY: rsa })).toThrow(/P-256/);
    expect(() => readConfig({ JWT_TTL_SECONDS: '0' })).toThrow(ConfigError);
  });

  it('accepts a PEM with escaped newlines and signs with it, kid matching the JWKS', async () => {
    const config = readConfig({ JWT_PRIVATE_KEY: pem.replace(/\n/g, '\\n'), JWT_TTL_SECONDS: '120' });
    const issuer = await createTokenIssuer({ privateKeyPem: config.jwtPrivateKey, ttlSeconds: config.jwtTtlSeconds });
    const token = await issuer.issue({ id: 'u9', scopes: ['admin', 'support'] });
    const { payload, header } = await verifyToken(token, issuer.jwks);
    expect(payload).toMatchObject({ sub: 'u9', scope: 'admin support', iss: 'shop-users', aud: 'shop-router' });
    expect(payload.exp! - payload.iat!).toBe(120);
    expect(header).toMatchObject({ alg: 'ES256', kid: issuer.kid });
    // The same key gives the same kid; another key's JWKS does not verify the token.
    const again = await createTokenIssuer({ privateKeyPem: config.jwtPrivateKey, ttlSeconds: 60 });
    expect(again.kid).toBe(issuer.kid);
    const other = await createTokenIssuer({ privateKeyPem: undefined, ttlSeconds: 60 });
    await expect(verifyToken(token, other.jwks)).rejects.toThrow();
  });
});
