import { fileURLToPath } from 'node:url';
import { Kind, parse, type FieldNode, type OperationDefinitionNode } from 'graphql';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.ts';
import { CREDENTIAL_FIELDS_CODE, credentialFieldsOf } from '../src/credential-limits.ts';
import { buildRouter, type Router } from '../src/server.ts';
import { startFakeSubgraph, type FakeHandler, type FakeSubgraph } from './support/fake-subgraph.ts';
import { total } from './support/harness.ts';

/**
 * F4 (router part): `mutation { a0: logIn(…) … a29: logIn(…) }`, 32 at a time from one address,
 * ran 30 password checks per request, slowed the users subgraph until the router's circuit for it
 * opened and another client's sign-in failed. Now one credential field per operation, sign-in and
 * sign-up attempts counted per address, and a subgraph refusing the flood does not open the
 * circuit. A supergraph of one `users` subgraph (test/fixtures/credentials-supergraph.graphql).
 */
const SUPERGRAPH = fileURLToPath(new URL('./fixtures/credentials-supergraph.graphql', import.meta.url));
const SIGN_IN_MAX = 3;
const SIGN_UP_MAX = 2;

/** Answers every root field the router sends (by alias) with a token. */
const answering: FakeHandler = ({ query }) => {
  const operation = parse(query).definitions[0] as OperationDefinitionNode;
  const data: Record<string, unknown> = {};
  for (const selection of operation.selectionSet.selections as FieldNode[]) {
    data[selection.alias?.value ?? selection.name.value] =
      selection.name.value === 'touch' || selection.name.value === 'me' ? 'ok' : { token: 't' };
  }
  return { body: { data } };
};

let users: FakeSubgraph;
const routers: Router[] = [];
beforeAll(async () => {
  users = await startFakeSubgraph(answering);
});
afterEach(async () => {
  users.handle(answering);
  await Promise.all(routers.splice(0).map((router) => router.close()));
});
afterAll(() => users?.close());

async function startRouter(env: Record<string, string> = {}): Promise<Router> {
  const router = await buildRouter({
    config: readConfig({
      PORT: '0',
      LOG_LEVEL: 'silent',
      NODE_ENV: 'production',
      ROUTER_SECRET: 'test-secret',
      SUPERGRAPH_PATH: SUPERGRAPH,
      USERS_URL: users.url,
      ROUTER_CACHE: 'false',
      SIGN_IN_RATE_LIMIT_MAX: String(SIGN_IN_MAX),
      SIGN_UP_RATE_LIMIT_MAX: String(SIGN_UP_MAX),
      ...env,
    }),
  });
  routers.push(router);
  return router;
}

const send = (router: Router, query: string, ip = '198.51.100.1') =>
  router.app.inject({
    method: 'POST',
    url: '/graphql',
    remoteAddress: ip,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ query }),
  });

const LOG_IN = (alias = 'logIn', n = 0) => `${alias}: logIn(email: "user1@example.com", password: "wrong-${n}") { token }`;
const SIGN_UP = (alias = 'signUp') => `${alias}: signUp(email: "new@example.com", password: "password1") { token }`;
/** The request of the finding: 30 aliased sign-ins in one mutation. */
const THIRTY_SIGN_INS = `mutation { ${Array.from({ length: 30 }, (_, i) => LOG_IN(`a${i}`, i)).join(' ')} }`;

const codeOf = (response: Awaited<ReturnType<typeof send>>) => response.json().errors?.[0]?.extensions?.code;

describe('credential fields per operation', () => {
  it('refuses more than one sign-in in an operation with 400, before any fetch (F4: 30 aliases)', async () => {
    const router = await startRouter();
    const response = await send(router, THIRTY_SIGN_INS);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      errors: [
        { message: 'An operation may sign in or sign up at most 1 time; this one asks 30', extensions: { code: CREDENTIAL_FIELDS_CODE } },
      ],
    });
    expect(users.requests).toHaveLength(0);
  });

  it('finds them through fragments, inline fragments and beside sign-ups, with the rate limit off too', async () => {
    const router = await startRouter({ RATE_LIMIT: 'false' });
    const hidden = [
      `mutation { ...A } fragment A on Mutation { ${LOG_IN('x')} ...B } fragment B on Mutation { ${LOG_IN('y')} }`,
      `mutation { ${LOG_IN()} ... on Mutation { ${LOG_IN('again')} } }`,
      `mutation { ... on Mutation { ... on Mutation { ${LOG_IN('deep')} } } ${SIGN_UP()} }`,
      `mutation { ${LOG_IN()} ${SIGN_UP()} }`,
    ];
    for (const query of hidden) {
      const response = await send(router, query);
      expect(response.statusCode, query).toBe(400);
      expect(codeOf(response)).toBe(CREDENTIAL_FIELDS_CODE);
    }
    expect(users.requests).toHaveLength(0);
    // One field however it is reached: the same fragment twice merges into one sign-in.
    const once = await send(router, `mutation { ...A ...A touch } fragment A on Mutation { ${LOG_IN()} }`);
    expect(once.statusCode).toBe(200);
    expect(once.json().data).toEqual({ logIn: { token: 't' }, touch: 'ok' });
  });

  it('counts root fields by response key', () => {
    const count = (query: string) => {
      const document = parse(query);
      const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
      return credentialFieldsOf(operation, document);
    };
    expect(count(`mutation { ${LOG_IN()} touch }`)).toEqual(['sign_in']);
    expect(count(`mutation { ${SIGN_UP()} }`)).toEqual(['sign_up']);
    expect(count('mutation { touch }')).toEqual([]);
    expect(count(THIRTY_SIGN_INS)).toHaveLength(30);
    expect(count(`mutation { ...A ...A ...A } fragment A on Mutation { ${LOG_IN()} }`)).toEqual(['sign_in']);
  });
});

describe('sign-in and sign-up attempts per address', () => {
  it('answers 429 RATE_LIMITED with Retry-After past SIGN_IN_RATE_LIMIT_MAX, for that address only', async () => {
    const router = await startRouter();
    const ip = '198.51.100.10';
    for (let i = 0; i < SIGN_IN_MAX; i++) expect((await send(router, `mutation { ${LOG_IN('logIn', i)} }`, ip)).statusCode).toBe(200);
    const fetches = users.requests.length;
    const refused = await send(router, `mutation { ${LOG_IN()} }`, ip);
    expect(refused.statusCode).toBe(429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60); // the default one-minute window
    expect(refused.headers['cache-control']).toBe('no-store');
    expect(refused.json()).toEqual({
      errors: [
        { message: `Too many requests; retry in ${retryAfter} s`, extensions: { code: 'RATE_LIMITED', retryAfterSeconds: retryAfter } },
      ],
    });
    // An alias or a fragment is the same attempt.
    expect((await send(router, `mutation { ...A } fragment A on Mutation { ${LOG_IN('x')} }`, ip)).statusCode).toBe(429);
    expect(users.requests.length).toBe(fetches);
    // The address's other traffic, and its sign-ups, have buckets of their own.
    expect((await send(router, 'mutation { touch }', ip)).statusCode).toBe(200);
    expect((await send(router, '{ me }', ip)).statusCode).toBe(200);
    expect((await send(router, `mutation { ${SIGN_UP()} }`, ip)).statusCode).toBe(200);
    // Another address signs in as usual.
    expect((await send(router, `mutation { ${LOG_IN()} }`, '198.51.100.11')).json().data.logIn.token).toBe('t');
    expect(await total(router.metrics.rateLimitRejections, { kind: 'sign_in' })).toBe(2);
  });

  it('limits sign-ups per address to SIGN_UP_RATE_LIMIT_MAX (F8: accounts do not buy allowance)', async () => {
    const router = await startRouter();
    const ip = '198.51.100.12';
    for (let i = 0; i < SIGN_UP_MAX; i++) expect((await send(router, `mutation { ${SIGN_UP()} }`, ip)).statusCode).toBe(200);
    const refused = await send(router, `mutation { ${SIGN_UP('again')} }`, ip);
    expect(refused.statusCode).toBe(429);
    expect(codeOf(refused)).toBe('RATE_LIMITED');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(60); // the default one-hour window
    expect((await send(router, `mutation { ${SIGN_UP()} }`, '198.51.100.13')).statusCode).toBe(200);
    expect(await total(router.metrics.rateLimitRejections, { kind: 'sign_up' })).toBe(1);
  });

  it('counts nothing with RATE_LIMIT=false', async () => {
    const router = await startRouter({ RATE_LIMIT: 'false' });
    for (let i = 0; i < SIGN_IN_MAX * 3; i++) expect((await send(router, `mutation { ${LOG_IN('logIn', i)} }`)).statusCode).toBe(200);
  });

  it('reads its buckets from the environment', () => {
    const defaults = readConfig({}).rateLimit;
    expect(defaults).toMatchObject({
      max: 600,
      ipMax: 3_000,
      signIn: { max: 30, windowMs: 60_000 },
      signUp: { max: 5, windowMs: 3_600_000 },
    });
    const set = readConfig({
      RATE_LIMIT_MAX: '10',
      SIGN_IN_RATE_LIMIT_MAX: '7',
      SIGN_IN_RATE_LIMIT_WINDOW_MS: '1000',
      SIGN_UP_RATE_LIMIT_MAX: '1',
      SIGN_UP_RATE_LIMIT_WINDOW_MS: '2000',
    }).rateLimit;
    expect(set).toMatchObject({ ipMax: 50, signIn: { max: 7, windowMs: 1_000 }, signUp: { max: 1, windowMs: 2_000 } });
    expect(readConfig({ RATE_LIMIT_IP_MAX: '5000' }).rateLimit.ipMax).toBe(5_000);
    expect(() => readConfig({ RATE_LIMIT_MAX: '100', RATE_LIMIT_IP_MAX: '50' })).toThrow(
      /RATE_LIMIT_IP_MAX \(50\) must be at least RATE_LIMIT_MAX \(100\)/,
    );
    expect(() => readConfig({ SIGN_IN_RATE_LIMIT_MAX: '0' })).toThrow(/SIGN_IN_RATE_LIMIT_MAX/);
  });
});

describe('a subgraph refusing a flood', () => {
  it('does not open the circuit that other clients sign in through', async () => {
    const router = await startRouter({ BREAKER_FAILURE_THRESHOLD: '2', SIGN_IN_RATE_LIMIT_MAX: '1000' });
    // The users subgraph sheds a flood: 503s whose errors all say RATE_LIMITED, then 429s.
    let n = 0;
    users.handle(() => ({
      status: n++ < 6 ? 503 : 429,
      body: { errors: [{ message: 'Too many sign-in attempts', extensions: { code: 'RATE_LIMITED' } }] },
    }));
    for (let i = 0; i < 10; i++) {
      const answer = await send(router, `mutation { ${LOG_IN('logIn', i)} }`, '198.51.100.20');
      expect(answer.statusCode).toBe(200);
      expect(answer.json().data).toBeNull();
    }
    expect((await router.metrics.subgraphCircuitOpens.get()).values.reduce((sum, v) => sum + v.value, 0)).toBe(0);
    users.handle(answering);
    const victim = await send(router, `mutation { ${LOG_IN()} }`, '198.51.100.21');
    expect(victim.json()).toEqual({ data: { logIn: { token: 't' } } });
  });
});
