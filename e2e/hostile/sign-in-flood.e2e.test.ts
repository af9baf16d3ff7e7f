import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildRouter, type Router } from '@shop/router';
import { subgraphUrlEnv } from '@shop/registry';
import { readConfig } from '@shop/router/config';

/**
 * F4: `mutation { a0: logIn(email:"user1@example.com", password:"wrong-0") { token } … a29: … }`,
 * 32 at a time from 127.0.0.2, ran 30 password checks per request; the users subgraph slowed, the
 * router's circuit for it opened, and a victim on 127.0.0.1 signing in got SUBGRAPH_UNAVAILABLE.
 *
 * Here the flood (that request, and single wrong-password sign-ins, 32 at a time for a bounded
 * count) runs from 127.0.0.2 against a router built in this process over the shared stack's
 * subgraphs, with its default rate limits on, while a victim on 127.0.0.1 signs in as the very
 * account under attack, with the right password, again and again. Every one of the victim's
 * sign-ins must succeed; the flood gets only 400 (one credential field per operation), 429
 * (sign-in attempts per address) or a wrong-password answer, never a 5xx, and the circuit never
 * opens.
 */
const FLOODERS = 32;
const FLOOD_REQUESTS = 1_500;
/** Under the default SIGN_IN_RATE_LIMIT_MAX (30 a minute), so the victim's own bucket never runs out. */
const VICTIM_SIGN_INS = 12;
const EMAIL = 'user1@example.com';

const subgraphUrls = inject('subgraphUrls');
let router: Router;
let origin: string;

beforeAll(async () => {
  const { REDIS_URL: _redis, ...inherited } = process.env;
  router = await buildRouter({
    config: readConfig({
      ...inherited,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'fatal',
      // The subgraphs' secret: with it the users subgraph believes the client address the router sends.
      ROUTER_SECRET: inject('routerSecret'),
      // The default limits (the stack's own router runs with RATE_LIMIT=false).
      RATE_LIMIT: 'true',
      ...subgraphUrlEnv(subgraphUrls),
    }),
  });
  await router.app.listen({ port: 0, host: '127.0.0.1' });
  origin = `http://127.0.0.1:${(router.app.server.address() as AddressInfo).port}`;
});
afterAll(() => router?.close());

const aliased = (count: number) =>
  `mutation { ${Array.from({ length: count }, (_, i) => `a${i}: logIn(email: "${EMAIL}", password: "wrong-${i}") { token }`).join(' ')} }`;
const LOG_IN = 'mutation LogIn($email: String!, $password: String!) { logIn(email: $email, password: $password) { token user { email } } }';

interface Answer {
  status: number;
  codes: string[];
  body: { data?: { logIn?: { token?: string; user?: { email?: string } } } | null; errors?: { extensions?: { code?: string } }[] };
}

async function post(pool: Pool, payload: unknown): Promise<Answer> {
  const response = await pool.request({
    method: 'POST',
    path: '/graphql',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  const text = await response.body.text();
  const body = JSON.parse(text) as Answer['body'];
  return { status: response.statusCode, codes: (body.errors ?? []).map((error) => error.extensions?.code ?? 'none'), body };
}

describe('a sign-in flood from one address (F4)', () => {
  it("never fails another client's sign-in, and never opens the users circuit", async () => {
    const attacker = new Pool(origin, { connections: FLOODERS, localAddress: '127.0.0.2' });
    const victim = new Pool(origin, { connections: 1, localAddress: '127.0.0.1' });
    const flood: (Answer & { kind: 'single' | 'thirty' | 'two' })[] = [];
    let sent = 0;
    let flooding = true;
    try {
      const flooders = Array.from({ length: FLOODERS }, async () => {
        while (sent < FLOOD_REQUESTS) {
          const n = sent++;
          // The finding's request, two aliased sign-ins (within the cost limit), and single
          // wrong-password sign-ins, in turn.
          const kind = (['single', 'thirty', 'two'] as const)[n % 3]!;
          const payload =
            kind === 'single'
              ? { query: LOG_IN, variables: { email: EMAIL, password: `wrong-${n}` } }
              : { query: aliased(kind === 'two' ? 2 : 30) };
          flood.push({ ...(await post(attacker, payload)), kind });
        }
      });
      const victimRuns = (async () => {
        const answers: Answer[] = [];
        // Spread over the flood: one sign-in each time the flood has sent another share of its requests.
        for (let i = 0; i < VICTIM_SIGN_INS; i++) {
          while (flooding && sent < ((i + 1) * FLOOD_REQUESTS) / (VICTIM_SIGN_INS + 1))
            await new Promise((resolve) => setTimeout(resolve, 10));
          answers.push(await post(victim, { query: LOG_IN, variables: { email: EMAIL, password: 'password' } }));
        }
        return answers;
      })();
      await Promise.all(flooders);
      flooding = false;
      const victimAnswers = await victimRuns;

      // The victim: every sign-in answered with a token, as the account under attack.
      expect(victimAnswers).toHaveLength(VICTIM_SIGN_INS);
      for (const answer of victimAnswers) {
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        expect(answer.codes).toEqual([]);
        expect(answer.body.data?.logIn?.user?.email).toBe(EMAIL);
        expect(answer.body.data?.logIn?.token).toEqual(expect.any(String));
      }

      // The flood: refused at the router (an aliased request whole, by its cost or its credential
      // fields; a single sign-in past the address's sign-in bucket; any of them past its request
      // limit), or a wrong password; nothing else.
      expect(flood).toHaveLength(FLOOD_REQUESTS);
      const outcomes = new Map<string, number>();
      for (const answer of flood) {
        const outcome = `${answer.kind} ${answer.status} ${answer.codes.join(',')}`;
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
      const allowed = new Set([
        'thirty 400 MAX_COST_EXCEEDED',
        'thirty 400 MAX_CREDENTIAL_FIELDS_EXCEEDED',
        'thirty 429 RATE_LIMITED',
        'two 400 MAX_CREDENTIAL_FIELDS_EXCEEDED',
        'two 429 RATE_LIMITED',
        'single 429 RATE_LIMITED',
        'single 200 INVALID_CREDENTIALS',
        'single 200 RATE_LIMITED',
      ]);
      expect(
        [...outcomes.keys()].filter((outcome) => !allowed.has(outcome)),
        JSON.stringify([...outcomes]),
      ).toEqual([]);
      expect(outcomes.get('two 400 MAX_CREDENTIAL_FIELDS_EXCEEDED')).toBeGreaterThan(0);
      // Of the single sign-ins, the address's bucket let through at most its default 30 a minute.
      expect((outcomes.get('single 200 INVALID_CREDENTIALS') ?? 0) + (outcomes.get('single 200 RATE_LIMITED') ?? 0)).toBeLessThanOrEqual(
        30,
      );

      const opens = (await router.metrics.subgraphCircuitOpens.get()).values.reduce((sum, value) => sum + value.value, 0);
      expect(opens).toBe(0);
    } finally {
      flooding = false;
      await attacker.close();
      await victim.close();
    }
  });
});
