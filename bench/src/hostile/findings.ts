/**
 * The findings of the hostile-traffic review (F1–F13) as exact request generators, plus the hostile-input e2e
 * test's generator, and the verdict for each answer: defended (the "what must happen"),
 * not defended, or not judged per answer.
 *
 * - The mix (`runMix`): F1, F2, F3, F6, F7, F10–F13, R1, R2 (two found reviewing the fixes) and the
 *   existing generator, drawn by
 *   weight from a seeded PRNG, paced at a fixed rate over the hostile source addresses.
 * - Bursts beside it: F4 (`runSignInFlood`, 32 at a time from one address) and F8
 *   (`runSignUpFlood`: sign-ups from one address, then a flood as those users). F9 is in
 *   slow-bodies.ts. F5 (a subgraph timing out) is not something a client can send.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostileGenerator, problemsOf, type HostileRequest } from '@shop/stack/hostile-requests';
import { clientOperation } from '../graphql.ts';
import type { SubgraphUrls } from '../processes.ts';
import { rng } from '../workload.ts';
import { errorCodes, graphqlPost, jsonOf, type Outcome, type Senders } from './client.ts';
import type { Tallies, Verdict } from './tally.ts';

export interface FindingContext {
  senders: Senders;
  tallies: Tallies;
  leak: RegExp;
  routerOrigin: string;
  subgraphUrls: SubgraphUrls;
  production: boolean;
  products: number;
  /** Unique per run, so sign-ups never collide with an earlier run's on a persistent database. */
  runId: string;
  /** Aborted when the bench stops early (a process died, or the time ran out). */
  signal: AbortSignal;
  seed: number;
}

/** What each finding sends, for the report. */
export const FINDINGS: Record<string, string> = {
  F1: 'cost bomb: nested `products(first: $n)` with n=30/100 as a variable, or the default page',
  F2:
    '`categories { products(first: 100) { …6 fields } }`, or just the `products(first: 100)` page, ' +
    'with a new unused variable `nonce` each time',
  F3: 'APQ registration of a 1.9 MB comment + `{ __typename }` (new hash each time)',
  F4: '30 aliased `logIn(user1, wrong password)`, 32 at a time from 127.0.0.2 (a burst)',
  F5: 'not sent: a subgraph timing out is not something a client can cause here',
  F6: '`{ __typename }` with a variable nested 5,000 arrays deep',
  F7: "fresh sign-up orders 50 lines, each the product's whole IN stock (≤ 99)",
  F8: 'sign-ups from 127.0.0.9, then a flood signed in as those users (a burst)',
  F9: 'slow bodies: `Content-Length: 100000`, one byte every 5 s (router and subgraph ports)',
  F10: 'misspelled enum `price(region: INN)` and field `prodcut`',
  F11: '990 `__typename` aliases; an alias named `__typename` on a real field',
  F12: 'straight to the users subgraph: forged `x-user-id`/`x-user-scopes: admin`, no or a wrong secret',
  F13: 'straight to each subgraph, no secret: introspection and `_service { sdl }`',
  R1: 'under the cost limit, 10 MB back: `categories { products(first: 82) { … 30 aliased descriptions } }` (found reviewing the fixes)',
  R2: 'a new 8,000-character operation name each time, `query N… { __typename }` (metric labels; found reviewing the fixes)',
  existing: 'the hostile-input e2e generator (17 categories, same seeded stream)',
};

const SIGN_UP = clientOperation('SignUp');
const PLACE_ORDER = clientOperation('PlaceOrder');
const originOf = (url: string) => new URL(url).origin;

/** Sends one hostile request and records it: any 5xx or failed connection is never "defended". */
async function hit(
  ctx: FindingContext,
  finding: string,
  origin: string,
  source: string,
  spec: Omit<HostileRequest, 'category'>,
  verdict: (outcome: Outcome, body: any) => Verdict,
  what = '',
  category?: string,
) {
  const outcome = await ctx.senders.send(origin, source, spec);
  const body = jsonOf(outcome);
  const judged = outcome.transport || outcome.status >= 500 ? false : verdict(outcome, body);
  ctx.tallies.record(finding, outcome, judged, problemsOf({ category: category ?? finding, ...spec }, outcome, ctx.leak), what, category);
  return { outcome, body };
}

const refused = (outcome: Outcome) => outcome.status >= 400 && outcome.status < 500;
const noData = (body: any) => !body?.data || Object.values(body.data).every((v) => v === null || v === undefined);

/** One draw of the mix: what it sends (one request, or a few for F7) from `source`. */
type Action = (source: string) => Promise<unknown>;

function mixActions(ctx: FindingContext): [string, number, Action][] {
  const random = rng(ctx.seed);
  const existing = hostileGenerator(ctx.seed);
  const subgraphs = Object.entries(ctx.subgraphUrls);
  let nonce = 0;
  let f7 = 0;
  const router = ctx.routerOrigin;

  const F1: Action = (source) => {
    const r = random();
    const query =
      r < 0.4
        ? 'query($n: Int){ categories { products(first: $n) { edges { node { ' +
          'category { products(first: $n) { edges { node { id } } } } } } } } }'
        : '{ categories { products { edges { node { category { products { edges { node { id } } } } } } } } }';
    const variables = r < 0.2 ? { n: 30 } : r < 0.4 ? { n: 100 } : {};
    return hit(
      ctx,
      'F1',
      router,
      source,
      graphqlPost({ query, variables }),
      (o, body) => o.status === 400 && errorCodes(body).includes('MAX_COST_EXCEEDED'),
      r < 0.4 ? `n=${variables.n}` : 'default page',
    );
  };
  const F2: Action = (source) => {
    // The finding's request, which demand control now refuses, and one page of it under any cost
    // limit, which still reaches the response cache. Judged on the router's memory over the run,
    // not per answer: 200 and 400 are both right.
    const whole = random() < 0.5;
    const query =
      `{ ${whole ? 'categories { ' : ''}products(first: 100) { edges { node { id name description brand imageUrl sku } } }` +
      `${whole ? ' }' : ''} }`;
    return hit(
      ctx,
      'F2',
      router,
      source,
      graphqlPost({ query, variables: { nonce: nonce++ } }),
      () => undefined,
      whole ? 'every category' : 'one page',
    );
  };
  const F3: Action = (source) => {
    const query = `# ${nonce++} ${'x'.repeat(1_900_000)}\n{ __typename }`;
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    return hit(ctx, 'F3', router, source, graphqlPost({ query, extensions: { persistedQuery: { version: 1, sha256Hash } } }), refused);
  };
  const F6: Action = (source) =>
    hit(
      ctx,
      'F6',
      router,
      source,
      graphqlPost(`{"query":"{ __typename }","variables":{"x":${'['.repeat(5_000)}${']'.repeat(5_000)}}}`),
      refused,
    );
  const F7: Action = async (source) => {
    const i = f7++;
    const signUp = await hit(
      ctx,
      'F7',
      router,
      source,
      graphqlPost({
        query: SIGN_UP,
        variables: {
          input: {
            email: `f7-${ctx.runId}-${i}@example.com`,
            password: `Bench-${randomBytes(6).toString('hex')}-7!`,
            name: 'F7 bench',
            region: 'IN',
          },
        },
      }),
      () => undefined,
      'sign-up',
    );
    const token: unknown = signUp.body?.data?.signUp?.token;
    if (typeof token !== 'string') return; // sign-up refused: nothing to order with
    const auth = { authorization: `Bearer ${token}` };
    const offset = Math.floor(random() * Math.max(1, ctx.products - 50));
    const after = offset === 0 ? null : Buffer.from(`product:${offset}`).toString('base64url');
    const listing = await hit(
      ctx,
      'F7',
      router,
      source,
      graphqlPost(
        {
          query: 'query($after: String) { products(first: 50, after: $after) { edges { node { id stock(region: IN) { available } } } } }',
          variables: { after },
        },
        auth,
      ),
      () => undefined,
      'stock',
    );
    const lines = ((listing.body?.data?.products?.edges ?? []) as { node: { id: string; stock?: { available?: number } } }[])
      .map(({ node }) => ({ productId: node.id, quantity: Math.min(99, node.stock?.available ?? 0) }))
      .filter((line) => line.quantity > 0);
    if (!lines.length) return;
    await hit(
      ctx,
      'F7',
      router,
      source,
      graphqlPost(
        {
          query: PLACE_ORDER,
          variables: { input: { idempotencyKey: `f7-${ctx.runId}-${i}`, region: 'IN', paymentMethod: 'tok_visa', lines } },
        },
        auth,
      ),
      (_o, body) => !body?.data?.placeOrder,
      `order of ${lines.length} lines, ${lines.reduce((n, l) => n + l.quantity, 0)} units`,
    );
  };
  const F10: Action = (source) => {
    const query = random() < 0.5 ? '{ product(id:"p1") { price(region: INN) { amount } } }' : '{ prodcut(id:"p1") { id } }';
    // Development may suggest; production must not.
    return hit(ctx, 'F10', router, source, graphqlPost({ query }), (o) =>
      ctx.production ? refused(o) && !/did you mean/i.test(o.text) : undefined,
    );
  };
  const F11: Action = (source) => {
    if (random() < 0.9) {
      const query = `{ ${Array.from({ length: 990 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
      return hit(ctx, 'F11', router, source, graphqlPost({ query }), refused, '990 aliases');
    }
    // One alias, under any limit: only that it counts as one is asked, which no single answer shows.
    return hit(
      ctx,
      'F11',
      router,
      source,
      graphqlPost({ query: '{ product(id:"p1") { __typename: name } }' }),
      () => undefined,
      '__typename: name',
    );
  };
  const F12: Action = (source) => {
    const forged: Record<string, string> = { 'x-user-id': random() < 0.5 ? 'u0' : 'u1', 'x-user-scopes': 'admin' };
    if (random() < 0.5) forged['x-router-secret'] = randomBytes(12).toString('base64url');
    const request =
      random() < 0.5
        ? { query: '{ me { id email } }' }
        : {
            query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email } } }',
            variables: {
              r: [
                { __typename: 'User', id: 'u2' },
                { __typename: 'User', id: 'u3' },
              ],
            },
          };
    return hit(
      ctx,
      'F12',
      originOf(ctx.subgraphUrls.users),
      source,
      graphqlPost(request, forged),
      (_o, body) => !/"email"\s*:\s*"/.test(JSON.stringify(body?.data ?? null)),
      request.query.includes('me') ? 'me' : '_entities',
    );
  };
  const F13: Action = (source) => {
    const [name, url] = subgraphs[Math.floor(random() * subgraphs.length)]!;
    const query = random() < 0.5 ? '{ __schema { queryType { name } types { name } } }' : '{ _service { sdl } }';
    return hit(
      ctx,
      'F13',
      originOf(url),
      source,
      graphqlPost({ query }),
      (_o, body) => (ctx.production ? noData(body) : undefined),
      `${name} ${query.includes('_service') ? '_service' : '__schema'}`,
    );
  };
  const R1: Action = (source) => {
    const aliases = Array.from({ length: 30 }, (_, i) => `d${i}: description`).join(' ');
    const fields = `id sku name description brand imageUrl weightGrams ${aliases}`;
    const query = `{ categories { products(first: 82) { edges { node { ${fields} } } } } }`;
    return hit(
      ctx,
      'R1',
      router,
      source,
      graphqlPost({ query }),
      (o, body) => refused(o) && errorCodes(body).some((c) => c === 'MAX_RESPONSE_FIELDS_EXCEEDED' || c === 'MAX_COST_EXCEEDED'),
    );
  };
  const R2: Action = (source) => {
    const name = `N${nonce++}${'x'.repeat(8_000)}`;
    // A 200 is right: judged by the router's peak RSS (its metrics keep no such label).
    return hit(ctx, 'R2', router, source, graphqlPost({ query: `query ${name} { __typename }` }), () => undefined);
  };
  const existingAction: Action = (source) => {
    const { category, unknownPath, ...spec } = existing.next();
    return hit(
      ctx,
      'existing',
      router,
      source,
      { ...spec, ...(unknownPath ? { unknownPath } : {}) },
      (o) => problemsOf({ category, unknownPath, ...spec }, o, ctx.leak).length === 0,
      category,
      category,
    );
  };
  return [
    ['existing', 55, existingAction],
    ['F1', 5, F1],
    ['F2', 6, F2],
    ['F3', 2, F3],
    ['F6', 6, F6],
    ['F7', 1, F7],
    ['F10', 6, F10],
    ['F11', 6, F11],
    ['F12', 6, F12],
    ['F13', 7, F13],
    ['R1', 3, R1],
    ['R2', 4, R2],
  ];
}

/**
 * `draws` draws of the mix at `ratePerSecond`, at most `maxInFlight` at once (a slow router makes
 * the mix fall behind, not pile up), over `sources` in turn; stops at `deadline` or on abort.
 */
export async function runMix(
  ctx: FindingContext,
  draws: number,
  ratePerSecond: number,
  maxInFlight: number,
  sources: readonly string[],
  deadline: number,
) {
  const actions = mixActions(ctx);
  const total = actions.reduce((s, [, w]) => s + w, 0);
  const pick = rng(ctx.seed ^ 0x9e3779b9);
  const inFlight = new Set<Promise<unknown>>();
  const started = performance.now();
  let drawn = 0;
  while (drawn < draws && !ctx.signal.aborted && Date.now() < deadline) {
    const due = Math.min(draws, Math.floor(((performance.now() - started) / 1000) * ratePerSecond) + 1);
    while (drawn < due && inFlight.size < maxInFlight) {
      let r = pick() * total;
      const action = actions.find(([, w]) => (r -= w) < 0)?.[2] ?? actions[0]![2];
      const run = action(sources[drawn++ % sources.length]!).catch(() => {});
      inFlight.add(run);
      void run.finally(() => inFlight.delete(run));
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await Promise.allSettled([...inFlight]);
  return drawn;
}

/** Runs `lanes` senders, each calling `one()` in turn while `more()` holds and the bench is not aborted. */
async function inLanes(ctx: FindingContext, lanes: number, more: () => boolean, one: () => Promise<unknown>) {
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (more() && !ctx.signal.aborted) await one();
    }),
  );
}

/**
 * F4: 30 wrong-password sign-ins per request for user1, `lanes` at a time from `source`, for
 * `seconds` or `maxRequests`, whichever comes first (refusals come back fast, and an unbounded
 * flood of them would mostly measure this process).
 */
export async function runSignInFlood(ctx: FindingContext, source: string, seconds: number, maxRequests: number, lanes = 32) {
  let n = 0;
  const until = Date.now() + seconds * 1000;
  await inLanes(
    ctx,
    lanes,
    () => Date.now() < until && n < maxRequests,
    () => {
      const base = n++ * 30;
      const fields = Array.from(
        { length: 30 },
        (_, i) => `a${i}: logIn(email: "user1@example.com", password: "wrong-${base + i}") { token }`,
      );
      return hit(
        ctx,
        'F4',
        ctx.routerOrigin,
        source,
        graphqlPost({ query: `mutation { ${fields.join(' ')} }` }),
        (_o, body) => !JSON.stringify(body?.data ?? null).includes('"token":"'),
      );
    },
  );
}

/**
 * F8: `signUps` sign-ups from `source`, then product queries from `lanes` senders as fast as
 * they go (three times the address's ceiling, or `seconds`, whichever comes first), signed in as
 * each account that was created in turn and anonymously, from the same address. The address's
 * ceiling (`ceiling.max` per window) bounds what may be answered; the router's fixed windows need
 * not line up with the flood, so the allowance counts every window it touched. Answers past that
 * are "not defended"; a flood that sent no more than the allowance cannot show a breach and is not
 * judged.
 */
export async function runSignUpFlood(
  ctx: FindingContext,
  source: string,
  signUps: number,
  seconds: number,
  ceiling: { max: number; windowMs: number },
  deadline: number,
  lanes = 32,
) {
  const tokens: (string | undefined)[] = [];
  let refusedSignUps = 0;
  for (let i = 0; i < signUps && !ctx.signal.aborted && Date.now() < deadline; i++) {
    const { body } = await hit(
      ctx,
      'F8',
      ctx.routerOrigin,
      source,
      graphqlPost({
        query: SIGN_UP,
        variables: {
          input: {
            email: `f8-${ctx.runId}-${i}@example.com`,
            password: `Bench-${randomBytes(6).toString('hex')}-8!`,
            name: 'F8 bench',
            region: 'IN',
          },
        },
      }),
      () => undefined,
      'sign-up',
    );
    if (typeof body?.data?.signUp?.token === 'string') tokens.push(body.data.signUp.token);
    else refusedSignUps++;
  }
  const flood = { accounts: tokens.length, refusedSignUps, sent: 0, accepted: 0, seconds: 0, allowed: 0 };
  tokens.push(undefined); // anonymous requests from the same address too
  const started = Date.now();
  const until = Math.min(deadline, started + seconds * 1000);
  await inLanes(
    ctx,
    lanes,
    () => Date.now() < until && flood.sent < 3 * ceiling.max,
    async () => {
      const token = tokens[flood.sent++ % tokens.length];
      const { outcome } = await hit(
        ctx,
        'F8',
        ctx.routerOrigin,
        source,
        graphqlPost({ query: '{ product(id: "p1") { id name } }' }, token ? { authorization: `Bearer ${token}` } : {}),
        () => undefined,
        'flood',
      );
      if (outcome.status === 200) flood.accepted++;
    },
  );
  flood.seconds = (Date.now() - started) / 1000;
  flood.allowed = ceiling.max * (Math.ceil((flood.seconds * 1000) / ceiling.windowMs) + 1);
  if (flood.sent > flood.allowed) {
    const tally = ctx.tallies.of('F8');
    const over = Math.max(0, flood.accepted - flood.allowed);
    tally.notDefended += over;
    tally.defended += flood.sent - over;
  }
  return flood;
}
