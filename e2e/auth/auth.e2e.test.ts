import { beforeAll, describe, expect, it } from 'vitest';
import { logIn, query } from '../setup/client.ts';

const MY_ORDERS = /* GraphQL */ `
  query MyOrders {
    me {
      id email
      orders(first: 5) {
        totalCount
        edges { node {
          id status region
          user { id }
          lines { quantity unitPrice { amount currency } lineTotal { amount } product { id name price(region: IN) { amount currency } } }
          total { amount currency }
        } }
      }
    }
  }
`;

describe('sign-in and private data through the router', () => {
  let user1: { token: string; userId: string };
  let user2: { token: string; userId: string };

  beforeAll(async () => {
    user1 = await logIn('user1@example.com', 'password');
    user2 = await logIn('user2@example.com', 'password');
  });

  it('signs in and shows the user their orders with products and prices from other subgraphs', async () => {
    const { data, errors } = await query(MY_ORDERS, {}, { token: user1.token });
    expect(errors).toBeUndefined();
    expect(data.me).toMatchObject({ id: user1.userId, email: 'user1@example.com' });
    const orders = data.me.orders.edges.map((e: any) => e.node);
    expect(orders.length).toBeGreaterThan(0);
    for (const order of orders) {
      expect(order.user.id).toBe(user1.userId);
      expect(order.lines.length).toBeGreaterThan(0);
      let sum = 0;
      for (const line of order.lines) {
        expect(line.product.name).toEqual(expect.any(String));
        expect(line.product.price.currency).toBe('INR');
        expect(line.unitPrice.currency).toBe(order.total.currency);
        sum += Math.round(Number(line.lineTotal.amount) * 100);
      }
      expect(Math.round(Number(order.total.amount) * 100)).toBe(sum);
    }
  });

  it("refuses another user's order with FORBIDDEN", async () => {
    const theirs = await query('{ me { orders(first: 1) { edges { node { id } } } } }', {}, { token: user2.token });
    const orderId = theirs.data.me.orders.edges[0].node.id;
    const mine = await query('query($id: ID!) { order(id: $id) { id total { amount } } }', { id: orderId }, { token: user1.token });
    expect(mine.data?.order ?? null).toBeNull();
    expect(mine.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const own = await query('query($id: ID!) { order(id: $id) { id } }', { id: orderId }, { token: user2.token });
    expect(own.data.order.id).toBe(orderId);
  });

  it('lets the admin read any order', async () => {
    const admin = await logIn('admin@example.com', 'admin');
    const result = await query('{ order(id: "o1") { id user { id } } }', {}, { token: admin.token });
    expect(result.errors).toBeUndefined();
    expect(result.data.order.id).toBe('o1');
  });

  it('answers UNAUTHENTICATED for me without a token', async () => {
    const result = await query('{ me { id } }');
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('ignores identity headers a client sends itself', async () => {
    const result = await query('{ me { id email } }', {}, { headers: { 'x-user-id': 'u1', 'x-user-scopes': 'admin' } });
    expect(result.data?.me ?? null).toBeNull();
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('rejects a forged or malformed token with 401 UNAUTHENTICATED', async () => {
    const [header, payload] = user1.token.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: 'u2' })).toString(
      'base64url',
    );
    for (const token of [`${header}.${forgedPayload}.${user1.token.split('.')[2]}`, 'not-a-jwt']) {
      const result = await query('{ me { id } }', {}, { token });
      expect(result.status).toBe(401);
      expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  it('signs up a new account that can sign in, and refuses a duplicate email and a weak password', async () => {
    const email = `e2e-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
    const signUp = 'mutation($input: SignUpInput!) { signUp(input: $input) { token user { id email region } } }';
    const created = await query(signUp, { input: { email, password: 'correct horse 9', name: 'E2E', region: 'SEA' } });
    expect(created.errors).toBeUndefined();
    expect(created.data.signUp.user).toMatchObject({ email, region: 'SEA' });
    const me = await query('{ me { id orders { totalCount } } }', {}, { token: created.data.signUp.token });
    expect(me.data.me).toEqual({ id: created.data.signUp.user.id, orders: { totalCount: 0 } });
    const again = await query(signUp, { input: { email, password: 'correct horse 9', name: 'E2E', region: 'SEA' } });
    expect(again.errors?.[0]?.extensions?.code).toBe('EMAIL_TAKEN');
    const weak = await query(signUp, { input: { email: `w${email}`, password: 'password', name: 'E2E', region: 'SEA' } });
    expect(weak.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const wrong = await query('mutation { logIn(email: "user1@example.com", password: "nope-nope-1") { token } }');
    expect(wrong.errors?.[0]?.extensions?.code).toBe('INVALID_CREDENTIALS');
  });
});
