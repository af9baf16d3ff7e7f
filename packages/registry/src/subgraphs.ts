/**
 * Every subgraph of the supergraph, once, in supergraph order (the order composition lists them in
 * `join__Graph` and the stack starts them in). Like supergraph-demo-fed2's `supergraph.yaml`: a
 * name, where it listens and where its schema is; everything else (routing URLs, `<NAME>_URL`,
 * `<NAME>_DATABASE_URL`, schema paths) is derived from these fields in index.ts.
 *
 * Adding a subgraph: its folder `subgraphs/<name>/` (a workspace exporting `buildServer` from `.`
 * and `readConfig` from `./config`), one entry here, then `npm run codegen && npm run compose`.
 */
export interface SubgraphEntry {
  /** Lower-case name: the folder under subgraphs/, the `join__graph(name:)`, the env-var prefix. */
  readonly name: string;
  /** Local port (DESIGN.md contracts); the routing URL composed into the supergraph is `http://localhost:<port>/graphql`. */
  readonly port: number;
  /** The workspace package: `.` exports `buildServer`, `./config` exports `readConfig`. */
  readonly package: string;
  /** Codegen mappers: GraphQL type → the model in the subgraph's `src/models.ts` that its resolvers receive. */
  readonly mappers: Readonly<Record<string, string>>;
  /** Siblings this subgraph calls directly (not through the router); it reads their `<NAME>_URL`. They must come earlier in the list. */
  readonly calls: readonly string[];
}

export const SUBGRAPH_ENTRIES = [
  {
    name: 'products',
    port: 4001,
    package: '@shop/products',
    mappers: { Product: 'ProductModel', Category: 'CategoryModel' },
    calls: [],
  },
  {
    name: 'inventory',
    port: 4002,
    package: '@shop/inventory',
    mappers: { Product: 'ProductRef', Warehouse: 'WarehouseModel', StockInfo: 'StockInfoModel', WarehouseStock: 'WarehouseStockModel' },
    calls: [],
  },
  {
    name: 'pricing',
    port: 4003,
    package: '@shop/pricing',
    mappers: { Product: 'ProductRef', Promotion: 'PromotionModel', Money: 'MoneyModel' },
    calls: [],
  },
  {
    name: 'users',
    port: 4004,
    package: '@shop/users',
    mappers: { User: 'UserModel' },
    calls: [],
  },
  {
    name: 'orders',
    port: 4005,
    package: '@shop/orders',
    mappers: { Order: 'OrderModel', OrderLine: 'OrderLineModel', User: 'UserRef', Product: 'ProductRef', Money: 'MoneyModel' },
    // Checkout prices lines through pricing's quote field and reserves stock through inventory's.
    calls: ['pricing', 'inventory'],
  },
] as const satisfies readonly SubgraphEntry[];
