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
    "mutation SignIn($email: String!, $password: String!) {\n  logIn(email: $email, password: $password) {\n    token\n    user {\n      ...Viewer\n    }\n  }\n}\n\nmutation CreateAccount($input: SignUpInput!) {\n  signUp(input: $input) {\n    token\n    user {\n      ...Viewer\n    }\n  }\n}": typeof types.SignInDocument,
    "mutation Checkout($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    ...OrderRow\n  }\n}\n\nmutation CancelOrder($id: ID!) {\n  cancelOrder(id: $id) {\n    id\n    status\n  }\n}": typeof types.CheckoutDocument,
    "fragment MoneyFields on Money {\n  amount\n  currency\n}\n\nfragment ProductCell on Product {\n  id\n  sku\n  name\n  imageUrl\n  price(region: $region) {\n    ...MoneyFields\n  }\n  stock(region: $region) {\n    inStock\n  }\n}\n\nfragment ProductScreenFields on Product {\n  ...ProductCell\n  brand\n  description\n  category {\n    slug\n    name\n  }\n  listPrice(region: $region) {\n    ...MoneyFields\n  }\n  activePromotion(region: $region) {\n    name\n    discountPercent\n  }\n  shippingEstimate(region: $region) {\n    minDays\n    maxDays\n    cost {\n      ...MoneyFields\n    }\n  }\n}\n\nfragment OrderRow on Order {\n  id\n  status\n  createdAt\n  total {\n    ...MoneyFields\n  }\n  lines {\n    quantity\n    lineTotal {\n      ...MoneyFields\n    }\n    product {\n      id\n      name\n      imageUrl\n    }\n  }\n}\n\nfragment Viewer on User {\n  id\n  email\n  name\n  region\n}": typeof types.MoneyFieldsFragmentDoc,
    "query ProductList($region: Region!, $categorySlug: String, $first: Int = 20, $after: String) {\n  products(filter: {categorySlug: $categorySlug}, first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        ...ProductCell\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": typeof types.ProductListDocument,
    "query MyOrders($after: String) {\n  me {\n    id\n    orders(first: 20, after: $after) {\n      edges {\n        node {\n          ...OrderRow\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n}\n\nsubscription MyOrderUpdates {\n  myOrderUpdates {\n    id\n    status\n  }\n}\n\nsubscription OrderUpdates($id: ID!) {\n  orderUpdated(id: $id) {\n    id\n    status\n    paymentStatus\n    shippedAt\n    deliveredAt\n    cancelledAt\n  }\n}": typeof types.MyOrdersDocument,
    "query ProductScreen($id: ID!, $region: Region!) {\n  product(id: $id) {\n    ...ProductScreenFields\n  }\n}\n\nquery ProductScan($sku: String!, $region: Region!) {\n  product(sku: $sku) {\n    ...ProductScreenFields\n  }\n}": typeof types.ProductScreenDocument,
    "query Search($query: String!, $region: Region!, $after: String) {\n  searchProducts(query: $query, first: 20, after: $after) {\n    totalCount\n    edges {\n      node {\n        ...ProductCell\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": typeof types.SearchDocument,
};
const documents: Documents = {
    "mutation SignIn($email: String!, $password: String!) {\n  logIn(email: $email, password: $password) {\n    token\n    user {\n      ...Viewer\n    }\n  }\n}\n\nmutation CreateAccount($input: SignUpInput!) {\n  signUp(input: $input) {\n    token\n    user {\n      ...Viewer\n    }\n  }\n}": types.SignInDocument,
    "mutation Checkout($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    ...OrderRow\n  }\n}\n\nmutation CancelOrder($id: ID!) {\n  cancelOrder(id: $id) {\n    id\n    status\n  }\n}": types.CheckoutDocument,
    "fragment MoneyFields on Money {\n  amount\n  currency\n}\n\nfragment ProductCell on Product {\n  id\n  sku\n  name\n  imageUrl\n  price(region: $region) {\n    ...MoneyFields\n  }\n  stock(region: $region) {\n    inStock\n  }\n}\n\nfragment ProductScreenFields on Product {\n  ...ProductCell\n  brand\n  description\n  category {\n    slug\n    name\n  }\n  listPrice(region: $region) {\n    ...MoneyFields\n  }\n  activePromotion(region: $region) {\n    name\n    discountPercent\n  }\n  shippingEstimate(region: $region) {\n    minDays\n    maxDays\n    cost {\n      ...MoneyFields\n    }\n  }\n}\n\nfragment OrderRow on Order {\n  id\n  status\n  createdAt\n  total {\n    ...MoneyFields\n  }\n  lines {\n    quantity\n    lineTotal {\n      ...MoneyFields\n    }\n    product {\n      id\n      name\n      imageUrl\n    }\n  }\n}\n\nfragment Viewer on User {\n  id\n  email\n  name\n  region\n}": types.MoneyFieldsFragmentDoc,
    "query ProductList($region: Region!, $categorySlug: String, $first: Int = 20, $after: String) {\n  products(filter: {categorySlug: $categorySlug}, first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        ...ProductCell\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": types.ProductListDocument,
    "query MyOrders($after: String) {\n  me {\n    id\n    orders(first: 20, after: $after) {\n      edges {\n        node {\n          ...OrderRow\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n}\n\nsubscription MyOrderUpdates {\n  myOrderUpdates {\n    id\n    status\n  }\n}\n\nsubscription OrderUpdates($id: ID!) {\n  orderUpdated(id: $id) {\n    id\n    status\n    paymentStatus\n    shippedAt\n    deliveredAt\n    cancelledAt\n  }\n}": types.MyOrdersDocument,
    "query ProductScreen($id: ID!, $region: Region!) {\n  product(id: $id) {\n    ...ProductScreenFields\n  }\n}\n\nquery ProductScan($sku: String!, $region: Region!) {\n  product(sku: $sku) {\n    ...ProductScreenFields\n  }\n}": types.ProductScreenDocument,
    "query Search($query: String!, $region: Region!, $after: String) {\n  searchProducts(query: $query, first: 20, after: $after) {\n    totalCount\n    edges {\n      node {\n        ...ProductCell\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": types.SearchDocument,
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
export function graphql(source: "mutation SignIn($email: String!, $password: String!) {\n  logIn(email: $email, password: $password) {\n    token\n    user {\n      ...Viewer\n    }\n  }\n}\n\nmutation CreateAccount($input: SignUpInput!) {\n  signUp(input: $input) {\n    token\n    user {\n      ...Viewer\n    }\n  }\n}"): (typeof documents)["mutation SignIn($email: String!, $password: String!) {\n  logIn(email: $email, password: $password) {\n    token\n    user {\n      ...Viewer\n    }\n  }\n}\n\nmutation CreateAccount($input: SignUpInput!) {\n  signUp(input: $input) {\n    token\n    user {\n      ...Viewer\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation Checkout($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    ...OrderRow\n  }\n}\n\nmutation CancelOrder($id: ID!) {\n  cancelOrder(id: $id) {\n    id\n    status\n  }\n}"): (typeof documents)["mutation Checkout($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    ...OrderRow\n  }\n}\n\nmutation CancelOrder($id: ID!) {\n  cancelOrder(id: $id) {\n    id\n    status\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment MoneyFields on Money {\n  amount\n  currency\n}\n\nfragment ProductCell on Product {\n  id\n  sku\n  name\n  imageUrl\n  price(region: $region) {\n    ...MoneyFields\n  }\n  stock(region: $region) {\n    inStock\n  }\n}\n\nfragment ProductScreenFields on Product {\n  ...ProductCell\n  brand\n  description\n  category {\n    slug\n    name\n  }\n  listPrice(region: $region) {\n    ...MoneyFields\n  }\n  activePromotion(region: $region) {\n    name\n    discountPercent\n  }\n  shippingEstimate(region: $region) {\n    minDays\n    maxDays\n    cost {\n      ...MoneyFields\n    }\n  }\n}\n\nfragment OrderRow on Order {\n  id\n  status\n  createdAt\n  total {\n    ...MoneyFields\n  }\n  lines {\n    quantity\n    lineTotal {\n      ...MoneyFields\n    }\n    product {\n      id\n      name\n      imageUrl\n    }\n  }\n}\n\nfragment Viewer on User {\n  id\n  email\n  name\n  region\n}"): (typeof documents)["fragment MoneyFields on Money {\n  amount\n  currency\n}\n\nfragment ProductCell on Product {\n  id\n  sku\n  name\n  imageUrl\n  price(region: $region) {\n    ...MoneyFields\n  }\n  stock(region: $region) {\n    inStock\n  }\n}\n\nfragment ProductScreenFields on Product {\n  ...ProductCell\n  brand\n  description\n  category {\n    slug\n    name\n  }\n  listPrice(region: $region) {\n    ...MoneyFields\n  }\n  activePromotion(region: $region) {\n    name\n    discountPercent\n  }\n  shippingEstimate(region: $region) {\n    minDays\n    maxDays\n    cost {\n      ...MoneyFields\n    }\n  }\n}\n\nfragment OrderRow on Order {\n  id\n  status\n  createdAt\n  total {\n    ...MoneyFields\n  }\n  lines {\n    quantity\n    lineTotal {\n      ...MoneyFields\n    }\n    product {\n      id\n      name\n      imageUrl\n    }\n  }\n}\n\nfragment Viewer on User {\n  id\n  email\n  name\n  region\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query ProductList($region: Region!, $categorySlug: String, $first: Int = 20, $after: String) {\n  products(filter: {categorySlug: $categorySlug}, first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        ...ProductCell\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"): (typeof documents)["query ProductList($region: Region!, $categorySlug: String, $first: Int = 20, $after: String) {\n  products(filter: {categorySlug: $categorySlug}, first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        ...ProductCell\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query MyOrders($after: String) {\n  me {\n    id\n    orders(first: 20, after: $after) {\n      edges {\n        node {\n          ...OrderRow\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n}\n\nsubscription MyOrderUpdates {\n  myOrderUpdates {\n    id\n    status\n  }\n}\n\nsubscription OrderUpdates($id: ID!) {\n  orderUpdated(id: $id) {\n    id\n    status\n    paymentStatus\n    shippedAt\n    deliveredAt\n    cancelledAt\n  }\n}"): (typeof documents)["query MyOrders($after: String) {\n  me {\n    id\n    orders(first: 20, after: $after) {\n      edges {\n        node {\n          ...OrderRow\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n}\n\nsubscription MyOrderUpdates {\n  myOrderUpdates {\n    id\n    status\n  }\n}\n\nsubscription OrderUpdates($id: ID!) {\n  orderUpdated(id: $id) {\n    id\n    status\n    paymentStatus\n    shippedAt\n    deliveredAt\n    cancelledAt\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query ProductScreen($id: ID!, $region: Region!) {\n  product(id: $id) {\n    ...ProductScreenFields\n  }\n}\n\nquery ProductScan($sku: String!, $region: Region!) {\n  product(sku: $sku) {\n    ...ProductScreenFields\n  }\n}"): (typeof documents)["query ProductScreen($id: ID!, $region: Region!) {\n  product(id: $id) {\n    ...ProductScreenFields\n  }\n}\n\nquery ProductScan($sku: String!, $region: Region!) {\n  product(sku: $sku) {\n    ...ProductScreenFields\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Search($query: String!, $region: Region!, $after: String) {\n  searchProducts(query: $query, first: 20, after: $after) {\n    totalCount\n    edges {\n      node {\n        ...ProductCell\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"): (typeof documents)["query Search($query: String!, $region: Region!, $after: String) {\n  searchProducts(query: $query, first: 20, after: $after) {\n    totalCount\n    edges {\n      node {\n        ...ProductCell\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;