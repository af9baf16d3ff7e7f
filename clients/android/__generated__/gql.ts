/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation LogIn($email: String!, $password: String!) {\n  logIn(email: $email, password: $password) {\n    token\n    user {\n      ...Account\n    }\n  }\n}\n\nmutation SignUp($input: SignUpInput!) {\n  signUp(input: $input) {\n    token\n    user {\n      ...Account\n    }\n  }\n}\n\nquery Me {\n  me {\n    ...Account\n  }\n}": typeof types.LogInDocument,
    "mutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    ...OrderItem\n  }\n}\n\nmutation CancelOrder($id: ID!) {\n  cancelOrder(id: $id) {\n    ...OrderItem\n  }\n}": typeof types.PlaceOrderDocument,
    "fragment Amount on Money {\n  amount\n  currency\n}\n\nfragment ProductTile on Product {\n  id\n  name\n  brand\n  imageUrl\n  price(region: $region) {\n    ...Amount\n  }\n  listPrice(region: $region) {\n    ...Amount\n  }\n  stock(region: $region) {\n    available\n  }\n}\n\nfragment ProductDetails on Product {\n  ...ProductTile\n  sku\n  description\n  category {\n    id\n    slug\n    name\n  }\n  activePromotion(region: $region) {\n    id\n    name\n    discountPercent\n    endsAt\n  }\n  shippingEstimate(region: $region) {\n    minDays\n    maxDays\n    cost {\n      ...Amount\n    }\n  }\n}\n\nfragment OrderItem on Order {\n  id\n  status\n  region\n  createdAt\n  total {\n    ...Amount\n  }\n  lines {\n    quantity\n    unitPrice {\n      ...Amount\n    }\n    product {\n      id\n      name\n    }\n  }\n}\n\nfragment Account on User {\n  id\n  name\n  email\n  region\n}": typeof types.AmountFragmentDoc,
    "query Products($region: Region!, $filter: ProductFilter, $first: Int = 30, $after: String) {\n  products(filter: $filter, first: $first, after: $after) {\n    totalCount\n    edges {\n      cursor\n      node {\n        ...ProductTile\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": typeof types.ProductsDocument,
    "query OrderHistory($first: Int = 20, $after: String) {\n  me {\n    id\n    orders(first: $first, after: $after) {\n      totalCount\n      edges {\n        cursor\n        node {\n          ...OrderItem\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n}\n\nsubscription MyOrderUpdates {\n  myOrderUpdates {\n    id\n    status\n  }\n}\n\nsubscription OrderUpdates($id: ID!) {\n  orderUpdated(id: $id) {\n    id\n    status\n    paymentStatus\n    shippedAt\n    deliveredAt\n    cancelledAt\n  }\n}": typeof types.OrderHistoryDocument,
    "query Product($id: ID!, $region: Region!) {\n  product(id: $id) {\n    ...ProductDetails\n  }\n}\n\nquery ProductBySku($sku: String!, $region: Region!) {\n  product(sku: $sku) {\n    ...ProductDetails\n  }\n}": typeof types.ProductDocument,
    "query SearchProducts($query: String!, $region: Region!, $first: Int = 30, $after: String) {\n  searchProducts(query: $query, first: $first, after: $after) {\n    totalCount\n    edges {\n      cursor\n      node {\n        ...ProductTile\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": typeof types.SearchProductsDocument,
};
const documents: Documents = {
    "mutation LogIn($email: String!, $password: String!) {\n  logIn(email: $email, password: $password) {\n    token\n    user {\n      ...Account\n    }\n  }\n}\n\nmutation SignUp($input: SignUpInput!) {\n  signUp(input: $input) {\n    token\n    user {\n      ...Account\n    }\n  }\n}\n\nquery Me {\n  me {\n    ...Account\n  }\n}": types.LogInDocument,
    "mutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    ...OrderItem\n  }\n}\n\nmutation CancelOrder($id: ID!) {\n  cancelOrder(id: $id) {\n    ...OrderItem\n  }\n}": types.PlaceOrderDocument,
    "fragment Amount on Money {\n  amount\n  currency\n}\n\nfragment ProductTile on Product {\n  id\n  name\n  brand\n  imageUrl\n  price(region: $region) {\n    ...Amount\n  }\n  listPrice(region: $region) {\n    ...Amount\n  }\n  stock(region: $region) {\n    available\n  }\n}\n\nfragment ProductDetails on Product {\n  ...ProductTile\n  sku\n  description\n  category {\n    id\n    slug\n    name\n  }\n  activePromotion(region: $region) {\n    id\n    name\n    discountPercent\n    endsAt\n  }\n  shippingEstimate(region: $region) {\n    minDays\n    maxDays\n    cost {\n      ...Amount\n    }\n  }\n}\n\nfragment OrderItem on Order {\n  id\n  status\n  region\n  createdAt\n  total {\n    ...Amount\n  }\n  lines {\n    quantity\n    unitPrice {\n      ...Amount\n    }\n    product {\n      id\n      name\n    }\n  }\n}\n\nfragment Account on User {\n  id\n  name\n  email\n  region\n}": types.AmountFragmentDoc,
    "query Products($region: Region!, $filter: ProductFilter, $first: Int = 30, $after: String) {\n  products(filter: $filter, first: $first, after: $after) {\n    totalCount\n    edges {\n      cursor\n      node {\n        ...ProductTile\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": types.ProductsDocument,
    "query OrderHistory($first: Int = 20, $after: String) {\n  me {\n    id\n    orders(first: $first, after: $after) {\n      totalCount\n      edges {\n        cursor\n        node {\n          ...OrderItem\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n}\n\nsubscription MyOrderUpdates {\n  myOrderUpdates {\n    id\n    status\n  }\n}\n\nsubscription OrderUpdates($id: ID!) {\n  orderUpdated(id: $id) {\n    id\n    status\n    paymentStatus\n    shippedAt\n    deliveredAt\n    cancelledAt\n  }\n}": types.OrderHistoryDocument,
    "query Product($id: ID!, $region: Region!) {\n  product(id: $id) {\n    ...ProductDetails\n  }\n}\n\nquery ProductBySku($sku: String!, $region: Region!) {\n  product(sku: $sku) {\n    ...ProductDetails\n  }\n}": types.ProductDocument,
    "query SearchProducts($query: String!, $region: Region!, $first: Int = 30, $after: String) {\n  searchProducts(query: $query, first: $first, after: $after) {\n    totalCount\n    edges {\n      cursor\n      node {\n        ...ProductTile\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": types.SearchProductsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation LogIn($email: String!, $password: String!) {\n  logIn(email: $email, password: $password) {\n    token\n    user {\n      ...Account\n    }\n  }\n}\n\nmutation SignUp($input: SignUpInput!) {\n  signUp(input: $input) {\n    token\n    user {\n      ...Account\n    }\n  }\n}\n\nquery Me {\n  me {\n    ...Account\n  }\n}"): (typeof documents)["mutation LogIn($email: String!, $password: String!) {\n  logIn(email: $email, password: $password) {\n    token\n    user {\n      ...Account\n    }\n  }\n}\n\nmutation SignUp($input: SignUpInput!) {\n  signUp(input: $input) {\n    token\n    user {\n      ...Account\n    }\n  }\n}\n\nquery Me {\n  me {\n    ...Account\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    ...OrderItem\n  }\n}\n\nmutation CancelOrder($id: ID!) {\n  cancelOrder(id: $id) {\n    ...OrderItem\n  }\n}"): (typeof documents)["mutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    ...OrderItem\n  }\n}\n\nmutation CancelOrder($id: ID!) {\n  cancelOrder(id: $id) {\n    ...OrderItem\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment Amount on Money {\n  amount\n  currency\n}\n\nfragment ProductTile on Product {\n  id\n  name\n  brand\n  imageUrl\n  price(region: $region) {\n    ...Amount\n  }\n  listPrice(region: $region) {\n    ...Amount\n  }\n  stock(region: $region) {\n    available\n  }\n}\n\nfragment ProductDetails on Product {\n  ...ProductTile\n  sku\n  description\n  category {\n    id\n    slug\n    name\n  }\n  activePromotion(region: $region) {\n    id\n    name\n    discountPercent\n    endsAt\n  }\n  shippingEstimate(region: $region) {\n    minDays\n    maxDays\n    cost {\n      ...Amount\n    }\n  }\n}\n\nfragment OrderItem on Order {\n  id\n  status\n  region\n  createdAt\n  total {\n    ...Amount\n  }\n  lines {\n    quantity\n    unitPrice {\n      ...Amount\n    }\n    product {\n      id\n      name\n    }\n  }\n}\n\nfragment Account on User {\n  id\n  name\n  email\n  region\n}"): (typeof documents)["fragment Amount on Money {\n  amount\n  currency\n}\n\nfragment ProductTile on Product {\n  id\n  name\n  brand\n  imageUrl\n  price(region: $region) {\n    ...Amount\n  }\n  listPrice(region: $region) {\n    ...Amount\n  }\n  stock(region: $region) {\n    available\n  }\n}\n\nfragment ProductDetails on Product {\n  ...ProductTile\n  sku\n  description\n  category {\n    id\n    slug\n    name\n  }\n  activePromotion(region: $region) {\n    id\n    name\n    discountPercent\n    endsAt\n  }\n  shippingEstimate(region: $region) {\n    minDays\n    maxDays\n    cost {\n      ...Amount\n    }\n  }\n}\n\nfragment OrderItem on Order {\n  id\n  status\n  region\n  createdAt\n  total {\n    ...Amount\n  }\n  lines {\n    quantity\n    unitPrice {\n      ...Amount\n    }\n    product {\n      id\n      name\n    }\n  }\n}\n\nfragment Account on User {\n  id\n  name\n  email\n  region\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Products($region: Region!, $filter: ProductFilter, $first: Int = 30, $after: String) {\n  products(filter: $filter, first: $first, after: $after) {\n    totalCount\n    edges {\n      cursor\n      node {\n        ...ProductTile\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"): (typeof documents)["query Products($region: Region!, $filter: ProductFilter, $first: Int = 30, $after: String) {\n  products(filter: $filter, first: $first, after: $after) {\n    totalCount\n    edges {\n      cursor\n      node {\n        ...ProductTile\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query OrderHistory($first: Int = 20, $after: String) {\n  me {\n    id\n    orders(first: $first, after: $after) {\n      totalCount\n      edges {\n        cursor\n        node {\n          ...OrderItem\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n}\n\nsubscription MyOrderUpdates {\n  myOrderUpdates {\n    id\n    status\n  }\n}\n\nsubscription OrderUpdates($id: ID!) {\n  orderUpdated(id: $id) {\n    id\n    status\n    paymentStatus\n    shippedAt\n    deliveredAt\n    cancelledAt\n  }\n}"): (typeof documents)["query OrderHistory($first: Int = 20, $after: String) {\n  me {\n    id\n    orders(first: $first, after: $after) {\n      totalCount\n      edges {\n        cursor\n        node {\n          ...OrderItem\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n}\n\nsubscription MyOrderUpdates {\n  myOrderUpdates {\n    id\n    status\n  }\n}\n\nsubscription OrderUpdates($id: ID!) {\n  orderUpdated(id: $id) {\n    id\n    status\n    paymentStatus\n    shippedAt\n    deliveredAt\n    cancelledAt\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Product($id: ID!, $region: Region!) {\n  product(id: $id) {\n    ...ProductDetails\n  }\n}\n\nquery ProductBySku($sku: String!, $region: Region!) {\n  product(sku: $sku) {\n    ...ProductDetails\n  }\n}"): (typeof documents)["query Product($id: ID!, $region: Region!) {\n  product(id: $id) {\n    ...ProductDetails\n  }\n}\n\nquery ProductBySku($sku: String!, $region: Region!) {\n  product(sku: $sku) {\n    ...ProductDetails\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query SearchProducts($query: String!, $region: Region!, $first: Int = 30, $after: String) {\n  searchProducts(query: $query, first: $first, after: $after) {\n    totalCount\n    edges {\n      cursor\n      node {\n        ...ProductTile\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"): (typeof documents)["query SearchProducts($query: String!, $region: Region!, $first: Int = 30, $after: String) {\n  searchProducts(query: $query, first: $first, after: $after) {\n    totalCount\n    edges {\n      cursor\n      node {\n        ...ProductTile\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;