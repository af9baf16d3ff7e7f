/**
 * Hostile HTTP requests from a seeded PRNG, and what a safe answer to one looks like. Shared by the
 * hostile-input e2e test (against a router in its worker) and `npm run bench:hostile` (against the
 * router started as its own process): the same seed gives the same requests in both.
 */

export function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface HostileRequest {
  category: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  path: string;
  headers: Record<string, string>;
  body?: Buffer | string;
  /**
   * A path or method the router does not serve: Fastify's own JSON answer (404, or a 4xx from its
   * body parser, which runs first), not necessarily GraphQL's shape.
   */
  unknownPath?: boolean;
}

export const JSON_HEADERS = { 'content-type': 'application/json' };
const UNICODE = [
  '\\ud800',
  '\\udfff',
  '\\udc00\\ud800',
  '\\u0000',
  '\\u202e',
  '\\u200f',
  '\\ufeff',
  '\\uffff',
  '\\u2028',
  '\\u2029',
  '🛒',
  '👩🏽‍🚀',
  'e\\u0301\\u0301\\u0301',
  'ｆｕｌｌｗｉｄｔｈ',
  'שָׁלוֹם',
  'مرحبا',
  '\\u0008\\u001b[31m',
  'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐',
];

export function hostileGenerator(seed: number) {
  const random = mulberry32(seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const bytes = (n: number) => {
    const buffer = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) buffer[i] = Math.floor(random() * 256);
    return buffer;
  };
  const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(0, 15)]).join('');
  const letters = (n: number) => Array.from({ length: n }, () => String.fromCharCode(int(97, 122))).join('');
  /** A JSON string body (escaped, may hold lone surrogates and NUL as \u escapes). */
  const unicodeJsonString = (length: number) => {
    let out = '';
    while (out.length < length) out += random() < 0.5 ? pick(UNICODE) : letters(int(1, 5));
    return `"${out}"`;
  };
  const post = (category: string, body: string | Buffer, headers: Record<string, string> = JSON_HEADERS): HostileRequest => ({
    category,
    method: 'POST',
    path: '/graphql',
    headers,
    body,
  });
  const gql = (category: string, request: Record<string, unknown>, headers?: Record<string, string>) =>
    post(category, JSON.stringify(request), headers);

  const valid = [
    '{ products(first: 3) { edges { node { id name price(region: IN) { amount currency } stock(region: IN) { available } } } } }',
    '{ product(id: "p1") { id name brand } }',
    '{ categories { id slug } }',
    'query Named { product(sku: "SKU-000042") { id sku } }',
    '{ __typename }',
  ];

  const categories: Record<string, () => HostileRequest> = {
    valid: () => gql('valid', { query: pick(valid) }),
    randomBytes: () =>
      post('randomBytes', bytes(int(0, 4_096)), pick([JSON_HEADERS, { 'content-type': 'application/json; charset=utf-8' }])),
    badJson: () => {
      const good = JSON.stringify({ query: pick(valid), variables: { a: [1, { b: 'c' }] } });
      const variants = [
        () => good.slice(0, int(0, good.length - 1)),
        () => good + pick(['}', ']', ',', 'garbage', '\u0000', '{}']),
        () => good.replace(/"/g, "'"),
        () => `{"query": ${pick(['NaN', 'undefined', 'Infinity', '0x10', "'x'", '"\\x41"', '"\\u12"'])}}`,
        () => '['.repeat(int(100, 20_000)) + ']'.repeat(int(0, 100)),
        () => `{"query": "{ __typename }", "variables": ${'{"a":'.repeat(int(100, 5_000))}1${'}'.repeat(int(0, 10))}`,
        () => '{"query":"{ __typename }","query":"{ __typename }","variables":null,"variables":[]}',
        () => pick(['null', 'true', '0', '""', '"{ __typename }"', '{}', '[]', '{"query": null}', '{"query": ["{ __typename }"]}']),
      ];
      return post('badJson', pick(variants)());
    },
    wrongContentType: () => {
      const body = JSON.stringify({ query: pick(valid) });
      const headers = pick<Record<string, string>>([
        { 'content-type': 'text/plain' },
        { 'content-type': 'text/plain;charset=UTF-8' },
        { 'content-type': 'multipart/form-data; boundary=----x' },
        { 'content-type': 'application/x-www-form-urlencoded' },
        { 'content-type': 'application/graphql' },
        { 'content-type': 'application/xml' },
        { 'content-type': 'application/jsonx' },
        { 'content-type': 'application/json; charset=utf-16' },
        { 'content-type': ';;;' },
        { 'content-type': '' },
        {},
      ]);
      return post(
        'wrongContentType',
        random() < 0.2 ? `------x\r\nContent-Disposition: form-data; name="query"\r\n\r\n{ __typename }\r\n------x--` : body,
        headers,
      );
    },
    getGarbage: () => {
      const value = () =>
        pick([
          encodeURIComponent(letters(int(0, 50))),
          '%',
          '%zz',
          '%00',
          '%ud800',
          '%ED%A0%80',
          '%C0%AF',
          encodeURIComponent(pick(valid)),
          '{',
          '%7B%22a%22%3A',
          '',
        ]);
      const params = Array.from(
        { length: int(0, 4) },
        () => `${pick(['query', 'variables', 'extensions', 'operationName', 'query[]', '__proto__', 'x'])}=${value()}`,
      );
      if (random() < 0.15) {
        return {
          category: 'getGarbage',
          method: 'GET',
          path: pick(['/', '/graphq', '/graphql/x', '/..%2f..%2fetc%2fpasswd', `/${letters(30)}`]),
          headers: {},
          unknownPath: true,
        };
      }
      const method = pick(['GET', 'GET', 'GET', 'PUT', 'DELETE', 'PATCH'] as const);
      return {
        category: 'getGarbage',
        method,
        path: `/graphql?${params.join('&')}`,
        headers: pick<Record<string, string>>([{}, { 'apollo-require-preflight': 'true' }, JSON_HEADERS]),
        unknownPath: method !== 'GET',
      };
    },
    deepNesting: () => {
      const depth = int(20, 200);
      // Product → category → products → edges → node → …: four levels of nesting per turn.
      let selection = 'id';
      for (let i = 0; i < depth / 4; i++) selection = `id category { products(first: 1) { edges { node { ${selection} } } } }`;
      const form = int(0, 2);
      if (form === 0) return gql('deepNesting', { query: `{ product(id: "p1") { ${selection} } }` });
      if (form === 1) return gql('deepNesting', { query: `{ ${'a { '.repeat(depth)}b${' }'.repeat(depth)} }` });
      // Fragments spreading each other in a chain (and sometimes a cycle).
      const fragments = Array.from(
        { length: depth },
        (_, i) =>
          `fragment F${i} on Product { id category { products(first: 1) { edges { node { ` +
          `...F${i + 1 < depth || random() < 0.5 ? i + 1 : 0} } } } } }`,
      );
      return gql('deepNesting', { query: `{ product(id: "p1") { ...F0 } } ${fragments.join(' ')}` });
    },
    aliasBomb: () => {
      const n = int(31, 2_500);
      const field = pick(['product(id: "p1") { id }', '__typename', 'categories { id }']);
      return gql('aliasBomb', { query: `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ')} }` });
    },
    directiveBomb: () => {
      const n = random() < 0.1 ? int(400, 2_000) : int(31, 400);
      const directive = pick(['@include(if: true)', '@skip(if: false)', '@deprecated', `@${letters(6)}`]);
      return gql('directiveBomb', { query: `{ products(first: 1) ${directive.concat(' ').repeat(n)}{ totalCount } }` });
    },
    fieldDuplication: () => {
      const n = int(50, 5_000);
      const form = int(0, 2);
      if (form === 0) return gql('fieldDuplication', { query: `{ products(first: 1) { ${'totalCount '.repeat(n)} } }` });
      if (form === 1) return gql('fieldDuplication', { query: `{ ${'__typename '.repeat(n)} }` });
      return gql('fieldDuplication', { query: `{ product(id: "p1") { ${'name '.repeat(n)} } }` });
    },
    hugeVariables: () => {
      const r = random();
      // Mostly tens of KB; 1 in 100 just under the 2 MB body limit, 1 in 100 just over it (413).
      const size = r < 0.01 ? int(1_800_000, 1_950_000) : r < 0.02 ? int(2_100_000, 2_400_000) : int(1_000, 30_000);
      const form = int(0, 3);
      const query = 'query($x: String, $o: ProductFilter, $n: [Int]) { __typename }';
      if (form === 0) return post('hugeVariables', `{"query":${JSON.stringify(query)},"variables":{"x":"${'x'.repeat(size)}"}}`);
      if (form === 1)
        return post(
          'hugeVariables',
          `{"query":${JSON.stringify(query)},` +
            `"variables":{"n":[${Array.from({ length: Math.floor(size / 8) }, () => int(0, 9_999_999)).join(',')}]}}`,
        );
      if (form === 2) {
        const keys = Array.from({ length: Math.floor(size / 16) }, (_, i) => `"k${i}":${i}`).join(',');
        return post('hugeVariables', `{"query":${JSON.stringify(query)},"variables":{${keys}}}`);
      }
      return post(
        'hugeVariables',
        '{"query":"query($q: String!) { searchProducts(query: $q, first: 1) { totalCount } }",' +
          `"variables":{"q":"${letters(Math.min(size, 20_000))}"}}`,
      );
    },
    unicode: () => {
      const s = () => unicodeJsonString(int(1, 200));
      const variants = [
        () => `{"query":"query($x: String) { __typename }","variables":{"x":${s()}}}`,
        () => `{"query":"{ product(id: ${s().replace(/\\/g, '\\\\').replace(/"/g, '\\"')}) { id } }"}`,
        () => `{"query":"query($q: String!) { searchProducts(query: $q, first: 1) { totalCount } }","variables":{"q":${s()}}}`,
        () => `{"query":"query($id: ID) { product(id: $id) { id } }","variables":{"id":${s()}}}`,
        () => `{"query":"{ __typename }","operationName":${s()}}`,
        () => `{"query":${s()}}`,
        () => `{"query":"{ __typename }","variables":{${s()}:1}}`,
        () => `{"query":"query($x: String) { __typename }","variables":{"x":"${'💥'.repeat(int(1_000, 10_000))}"}}`,
      ];
      const body = pick(variants)();
      // Invalid UTF-8 (overlong and truncated sequences) straight in the bytes.
      if (random() < 0.15)
        return post(
          'unicode',
          Buffer.concat([
            Buffer.from(body.slice(0, -3)),
            Buffer.from(pick([[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xff]])),
            Buffer.from(body.slice(-3)),
          ]),
        );
      return post('unicode', body);
    },
    introspection: () => {
      const depth = int(3, 60);
      const form = int(0, 2);
      if (form === 0)
        return gql('introspection', {
          query: `{ __schema { types { name fields { name type { ${'name ofType { '.repeat(depth)}name${' }'.repeat(depth)} } } } } }`,
        });
      if (form === 1) {
        let selection = 'name';
        for (let i = 0; i < depth; i++) selection = `name fields { type { ${selection} } }`;
        return gql('introspection', { query: `{ __type(name: "Product") { ${selection} } }` });
      }
      return gql('introspection', {
        query:
          `{ __schema { ${'queryType { fields { type { fields { type { name } } } } } '.repeat(int(1, 5))}` +
          `${Array.from({ length: int(1, 40) }, (_, i) => `t${i}: types { name }`).join(' ')} } }`,
      });
    },
    batched: () => {
      const n = int(2, 1_000);
      return post('batched', JSON.stringify(Array.from({ length: n }, () => ({ query: pick(valid) }))));
    },
    invalidVariables: () => {
      const bad = pick<unknown>(['abc', 1e100, -1, 2 ** 31, 1.5, null, [], {}, true, 'p1', { __proto__: 1 }, [[1]]]);
      const form = int(0, 3);
      if (form === 0)
        return gql('invalidVariables', { query: 'query($n: Int!) { products(first: $n) { totalCount } }', variables: { n: bad } });
      if (form === 1)
        return gql('invalidVariables', {
          query: 'query($r: Region!) { product(id: "p1") { price(region: $r) { amount } } }',
          variables: { r: bad },
        });
      if (form === 2)
        return gql('invalidVariables', {
          query: 'query($f: ProductFilter) { products(filter: $f, first: 1) { totalCount } }',
          variables: { f: { [letters(5)]: bad } },
        });
      return gql('invalidVariables', { query: '{ __typename }', variables: pick<unknown>(['string', 42, [1, 2], true]) });
    },
    unknownPersisted: () => {
      const hash = hex(64);
      const form = int(0, 4);
      if (form === 0) return gql('unknownPersisted', { extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
      if (form === 1)
        return gql('unknownPersisted', { query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
      if (form === 2)
        return gql('unknownPersisted', { extensions: { persistedQuery: { version: pick([2, 0, '1', null]), sha256Hash: hash } } });
      if (form === 3)
        return gql('unknownPersisted', {
          extensions: { persistedQuery: { version: 1, sha256Hash: pick([letters(int(0, 300)), 42, null, { a: 1 }]) } },
        });
      const params = new URLSearchParams({ extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: hash } }) });
      return {
        category: 'unknownPersisted',
        method: 'GET',
        path: `/graphql?${params}`,
        headers: { 'apollographql-client-name': pick(['ios', 'android', 'web', 'x']) },
      };
    },
    hugeOperationName: () => {
      const r = random();
      const name = r < 0.03 ? letters(int(100_000, 400_000)) : r < 0.5 ? letters(int(1_000, 20_000)) : `Q${letters(int(10, 1_000))}`;
      const query = pick([
        '{ __typename }',
        'query Q { __typename }',
        `query ${name} { __typename }`,
        'query A { __typename } query B { __typename }',
      ]);
      return gql('hugeOperationName', { query, ...(random() < 0.9 ? { operationName: name } : {}) });
    },
    weirdHeaders: () => {
      const token = pick([
        `Bearer ${letters(int(0, 3_000))}`,
        `Bearer ${Buffer.from(JSON.stringify({ alg: pick(['none', 'HS256', 'ES256']), kid: letters(8) })).toString('base64url')}.` +
          `${Buffer.from(JSON.stringify({ sub: 'u1', scope: 'admin' })).toString('base64url')}.${letters(20)}`,
        'Bearer',
        'Bearer  ',
        'Basic dXNlcjpwYXNz',
        letters(200),
        'Bearer a b c',
        `bearer ${'.'.repeat(int(1, 100))}`,
      ]);
      const headers: Record<string, string> = { ...JSON_HEADERS };
      if (random() < 0.7) headers.authorization = token;
      if (random() < 0.5)
        headers['apollographql-client-name'] = pick(['ios', 'android', 'web', letters(int(0, 200)), '../../etc', '*', 'ios ']);
      if (random() < 0.5) headers['x-request-id'] = pick([letters(int(0, 500)), '../../', 'a;b', '%00', 'x'.repeat(65), '']);
      if (random() < 0.3)
        headers.accept = pick([
          'text/html',
          '*/*;q=0',
          'application/graphql-response+json',
          'application/xml',
          ';;',
          'application/json;q=abc',
        ]);
      if (random() < 0.3) headers['apollo-require-preflight'] = letters(int(0, 20));
      if (random() < 0.2) headers['x-forwarded-for'] = pick(['1.1.1.1, 2.2.2.2', 'not-an-ip', letters(100)]);
      if (random() < 0.2) headers['x-user-id'] = 'u1'; // identity headers from a client must be ignored
      return gql('weirdHeaders', { query: pick(valid) }, headers);
    },
  };
  /** Weights: the cheap router-only categories more often, the ones reaching subgraphs less. */
  const weights: [string, number][] = [
    ['valid', 3],
    ['randomBytes', 8],
    ['badJson', 8],
    ['wrongContentType', 7],
    ['getGarbage', 7],
    ['deepNesting', 7],
    ['aliasBomb', 7],
    ['directiveBomb', 7],
    ['fieldDuplication', 6],
    ['hugeVariables', 6],
    ['unicode', 8],
    ['introspection', 4],
    ['batched', 5],
    ['invalidVariables', 6],
    ['unknownPersisted', 6],
    ['hugeOperationName', 5],
    ['weirdHeaders', 6],
  ];
  const sum = weights.reduce((s, [, w]) => s + w, 0);
  return {
    categories: Object.keys(categories),
    next(): HostileRequest {
      let r = random() * sum;
      for (const [name, weight] of weights) if ((r -= weight) < 0) return categories[name]!();
      return categories.valid!();
    },
    of: (name: string) => categories[name]!(),
  };
}

export interface Outcome {
  status: number;
  text: string;
  /** Set when the connection failed instead of answering. */
  transport?: string;
}

/** Answers counted by status (`transport` for no answer) and by GraphQL error code. */
export interface OutcomeCounts {
  sent: number;
  statuses: Record<string, number>;
  codes: Record<string, number>;
}

export function countOutcome(counts: OutcomeCounts, outcome: Outcome) {
  counts.sent++;
  const status = outcome.transport ? 'transport' : String(outcome.status);
  counts.statuses[status] = (counts.statuses[status] ?? 0) + 1;
  try {
    for (const error of JSON.parse(outcome.text)?.errors ?? []) {
      const code = String(error?.extensions?.code ?? '(none)');
      counts.codes[code] = (counts.codes[code] ?? 0) + 1;
    }
  } catch {
    // not JSON: the status says enough (and problemsOf calls it a problem)
  }
}

/**
 * What must never appear in an answer: a stack frame, a source path, an internal URL (a subgraph's
 * port on loopback), SQL text or a socket error code.
 */
export function leakPattern(subgraphPorts: readonly string[]): RegExp {
  return new RegExp(
    [
      String.raw`\bat \S+ \(`, // a V8 stack frame
      String.raw`\bat (?:file://)?/\S+:\d+`,
      'node_modules',
      String.raw`/work/|/src/\w+\.ts`,
      String.raw`\.ts:\d+:\d+`,
      ...subgraphPorts.map((port) => `(?:127\\.0\\.0\\.1|localhost):${port}`),
      String.raw`\bSELECT\s.+\sFROM\b|\bINSERT INTO\b|\bUPDATE \w+\.\w+ SET\b|\bsyntax error at or near\b|\brelation "\w+`,
      'ECONNREFUSED|ECONNRESET|ETIMEDOUT',
    ].join('|'),
    'i',
  );
}

/** What is wrong with one answer; empty when it is fine. */
export function problemsOf(spec: HostileRequest, outcome: Outcome, leak: RegExp): string[] {
  const problems: string[] = [];
  if (outcome.transport) return [`transport error ${outcome.transport}`];
  if (outcome.status >= 500) problems.push(`status ${outcome.status}`);
  if (leak.test(outcome.text)) problems.push(`leak: ${outcome.text.match(leak)![0]}`);
  let body: any;
  try {
    body = JSON.parse(outcome.text);
  } catch {
    problems.push(`body is not JSON: ${outcome.text.slice(0, 80)}`);
    return problems;
  }
  if (spec.unknownPath) {
    if (outcome.status < 400 || outcome.status >= 500) problems.push(`unknown path answered ${outcome.status}`);
    return problems;
  }
  if (outcome.status >= 400) {
    const errors = body?.errors;
    if (!Array.isArray(errors) || errors.length === 0) problems.push(`${outcome.status} without errors[]`);
    else if (!errors.every((e: any) => typeof e?.extensions?.code === 'string'))
      problems.push(`${outcome.status} with an error lacking extensions.code`);
    else if (errors.some((e: any) => e.extensions.code === 'INTERNAL_SERVER_ERROR'))
      problems.push(`${outcome.status} labelled INTERNAL_SERVER_ERROR`);
  } else if (outcome.status === 200) {
    if (!body || (body.data === undefined && !Array.isArray(body.errors))) problems.push('200 without data or errors');
  } else if (outcome.status !== 304) {
    problems.push(`unexpected status ${outcome.status}`);
  }
  return problems;
}
