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
    "mutation LogIn($email: String!, $password: String!) {\n  logIn(email: $email, password: $password) {\n    token\n    user {\n      ...SessionUser\n    }\n  }\n}\n\nmutation SignUp($input: SignUpInput!) {\n  signUp(input: $input) {\n    token\n    user {\n      ...SessionUser\n    }\n  }\n}\n\nquery CurrentUser {\n  me {\n    ...SessionUser\n    createdAt\n  }\n}": typeof types.LogInDocument,
    "query Categories {\n  categories {\n    id\n    slug\n    name\n  }\n}\n\nquery CategoryPage($slug: String!, $region: Region!, $first: Int = 24, $after: String) {\n  category(slug: $slug) {\n    id\n    name\n    products(first: $first, after: $after) {\n      totalCount\n      edges {\n        node {\n          ...ProductCard\n        }\n      }\n      pageInfo {\n        ...PageCursor\n      }\n    }\n  }\n}": typeof types.CategoriesDocument,
    "mutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    ...OrderSummary\n  }\n}\n\nmutation CancelOrder($id: ID!) {\n  cancelOrder(id: $id) {\n    id\n    status\n  }\n}": typeof types.PlaceOrderDocument,
    "fragment Price on Money {\n  amount\n  currency\n}\n\nfragment ProductCard on Product {\n  id\n  sku\n  name\n  brand\n  imageUrl\n  category {\n    slug\n    name\n  }\n  price(region: $region) {\n    ...Price\n  }\n  listPrice(region: $region) {\n    ...Price\n  }\n  stock(region: $region) {\n    inStock\n  }\n}\n\nfragment ProductDetail on Product {\n  ...ProductCard\n  description\n  activePromotion(region: $region) {\n    id\n    name\n    discountPercent\n    endsAt\n  }\n  stock(region: $region) {\n    available\n    inStock\n  }\n  shippingEstimate(region: $region) {\n    minDays\n    maxDays\n    cost {\n      ...Price\n    }\n    fromWarehouse {\n      code\n      name\n    }\n  }\n}\n\nfragment PageCursor on PageInfo {\n  hasNextPage\n  endCursor\n}\n\nfragment OrderSummary on Order {\n  id\n  status\n  region\n  createdAt\n  total {\n    ...Price\n  }\n  lines {\n    quantity\n    unitPrice {\n      ...Price\n    }\n    lineTotal {\n      ...Price\n    }\n    product {\n      id\n      sku\n      name\n      imageUrl\n    }\n  }\n}\n\nfragment SessionUser on User {\n  id\n  email\n  name\n  region\n}": typeof types.PriceFragmentDoc,
    "query ProductListing($region: Region!, $filter: ProductFilter, $first: Int = 24, $after: String) {\n  products(filter: $filter, first: $first, after: $after) {\n    totalCount\n    edges {\n      cursor\n      node {\n        ...ProductCard\n      }\n    }\n    pageInfo {\n      ...PageCursor\n    }\n  }\n}": typeof types.ProductListingDocument,
    "query OrderHistory($first: Int = 10, $after: String) {\n  me {\n    id\n    orders(first: $first, after: $after) {\n      totalCount\n      edges {\n        cursor\n        node {\n          ...OrderSummary\n        }\n      }\n      pageInfo {\n        ...PageCursor\n      }\n    }\n  }\n}\n\nquery OrderDetail($id: ID!) {\n  order(id: $id) {\n    ...OrderSummary\n  }\n}": typeof types.OrderHistoryDocument,
    "query ProductById($id: ID!, $region: Region!) {\n  product(id: $id) {\n    ...ProductDetail\n  }\n}\n\nquery ProductBySku($sku: String!, $region: Region!) {\n  product(sku: $sku) {\n    ...ProductDetail\n  }\n}": typeof types.ProductByIdDocument,
    "query ActivePromotions($region: Region!) {\n  promotions(region: $region) {\n    id\n    name\n    discountPercent\n    startsAt\n    endsAt\n    active\n  }\n}": typeof types.ActivePromotionsDocument,
    "query SearchProducts($query: String!, $region: Region!, $first: Int = 24, $after: String) {\n  searchProducts(query: $query, first: $first, after: $after) {\n    totalCount\n    edges {\n      node {\n        ...ProductCard\n      }\n    }\n    pageInfo {\n      ...PageCursor\n    }\n  }\n}": typeof types.SearchProductsDocument,
};
const documents: Documents = {
    "mutation LogIn($email: String!, $password: String!) {\n  logIn(email: $email, password: $password) {\n    token\n    user {\n      ...SessionUser\n    }\n  }\n}\n\nmutation SignUp($input: SignUpInput!) {\n  signUp(input: $input) {\n    token\n    user {\n      ...SessionUser\n    }\n  }\n}\n\nquery CurrentUser {\n  me {\n    ...SessionUser\n    createdAt\n  }\n}": types.LogInDocument,
    "query Categories {\n  categories {\n    id\n    slug\n    name\n  }\n}\n\nquery CategoryPage($slug: String!, $region: Region!, $first: Int = 24, $after: String) {\n  category(slug: $slug) {\n    id\n    name\n    products(first: $first, after: $after) {\n      totalCount\n      edges {\n        node {\n          ...ProductCard\n        }\n      }\n      pageInfo {\n        ...PageCursor\n      }\n    }\n  }\n}": types.CategoriesDocument,
    "mutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    ...OrderSummary\n  }\n}\n\nmutation CancelOrder($id: ID!) {\n  cancelOrder(id: $id) {\n    id\n    status\n  }\n}": types.PlaceOrderDocument,
    "fragment Price on Money {\n  amount\n  currency\n}\n\nfragment ProductCard on Product {\n  id\n  sku\n  name\n  brand\n  imageUrl\n  category {\n    slug\n    name\n  }\n  price(region: $region) {\n    ...Price\n  }\n  listPrice(region: $region) {\n    ...Price\n  }\n  stock(region: $region) {\n    inStock\n  }\n}\n\nfragment ProductDetail on Product {\n  ...ProductCard\n  description\n  activePromotion(region: $region) {\n    id\n    name\n    discountPercent\n    endsAt\n  }\n  stock(region: $region) {\n    available\n    inStock\n  }\n  shippingEstimate(region: $region) {\n    minDays\n    maxDays\n    cost {\n      ...Price\n    }\n    fromWarehouse {\n      code\n      name\n    }\n  }\n}\n\nfragment PageCursor on PageInfo {\n  hasNextPage\n  endCursor\n}\n\nfragment OrderSummary on Order {\n  id\n  status\n  region\n  createdAt\n  total {\n    ...Price\n  }\n  lines {\n    quantity\n    unitPrice {\n      ...Price\n    }\n    lineTotal {\n      ...Price\n    }\n    product {\n      id\n      sku\n      name\n      imageUrl\n    }\n  }\n}\n\nfragment SessionUser on User {\n  id\n  email\n  name\n  region\n}": types.PriceFragmentDoc,
    "query ProductListing($region: Region!, $filter: ProductFilter, $first: Int = 24, $after: String) {\n  products(filter: $filter, first: $first, after: $after) {\n    totalCount\n    edges {\n      cursor\n      node {\n        ...ProductCard\n      }\n    }\n    pageInfo {\n      ...PageCursor\n    }\n  }\n}": types.ProductListingDocument,
    "query OrderHistory($first: Int = 10, $after: String) {\n  me {\n    id\n    orders(first: $first, after: $after) {\n      totalCount\n      edges {\n        cursor\n        node {\n          ...OrderSummary\n        }\n      }\n      pageInfo {\n        ...PageCursor\n      }\n    }\n  }\n}\n\nquery OrderDetail($id: ID!) {\n  order(id: $id) {\n    ...OrderSummary\n  }\n}": types.OrderHistoryDocument,
    "query ProductById($id: ID!, $region: Region!) {\n  product(id: $id) {\n    ...ProductDetail\n  }\n}\n\nquery ProductBySku($sku: String!, $region: Region!) {\n  product(sku: $sku) {\n    ...ProductDetail\n  }\n}": types.ProductByIdDocument,
    "query ActivePromotions($region: Region!) {\n  promotions(region: $region) {\n    id\n    name\n    discountPercent\n    startsAt\n    endsAt\n    active\n  }\n}": types.ActivePromotionsDocument,
    "query SearchProducts($query: String!, $region: Region!, $first: Int = 24, $after: String) {\n  searchProducts(query: $query, first: $first, after: $after) {\n    totalCount\n    edges {\n      node {\n        ...ProductCard\n      }\n    }\n    pageInfo {\n      ...PageCursor\n    }\n  }\n}": types.SearchProductsDocument,
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
export function graphql(source: "mutation LogIn($email: String!, $password: String!) {\n  logIn(email: $email, password: $password) {\n    token\n    user {\n      ...SessionUser\n    }\n  }\n}\n\nmutation SignUp($input: SignUpInput!) {\n  signUp(input: $input) {\n    token\n    user {\n      ...SessionUser\n    }\n  }\n}\n\nquery CurrentUser {\n  me {\n    ...SessionUser\n    createdAt\n  }\n}"): (typeof documents)["mutation LogIn($email: String!, $password: String!) {\n  logIn(email: $email, password: $password) {\n    token\n    user {\n      ...SessionUser\n    }\n  }\n}\n\nmutation SignUp($input: SignUpInput!) {\n  signUp(input: $input) {\n    token\n    user {\n      ...SessionUser\n    }\n  }\n}\n\nquery CurrentUser {\n  me {\n    ...SessionUser\n    createdAt\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Categories {\n  categories {\n    id\n    slug\n    name\n  }\n}\n\nquery CategoryPage($slug: String!, $region: Region!, $first: Int = 24, $after: String) {\n  category(slug: $slug) {\n    id\n    name\n    products(first: $first, after: $after) {\n      totalCount\n      edges {\n        node {\n          ...ProductCard\n        }\n      }\n      pageInfo {\n        ...PageCursor\n      }\n    }\n  }\n}"): (typeof documents)["query Categories {\n  categories {\n    id\n    slug\n    name\n  }\n}\n\nquery CategoryPage($slug: String!, $region: Region!, $first: Int = 24, $after: String) {\n  category(slug: $slug) {\n    id\n    name\n    products(first: $first, after: $after) {\n      totalCount\n      edges {\n        node {\n          ...ProductCard\n        }\n      }\n      pageInfo {\n        ...PageCursor\n      }\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    ...OrderSummary\n  }\n}\n\nmutation CancelOrder($id: ID!) {\n  cancelOrder(id: $id) {\n    id\n    status\n  }\n}"): (typeof documents)["mutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    ...OrderSummary\n  }\n}\n\nmutation CancelOrder($id: ID!) {\n  cancelOrder(id: $id) {\n    id\n    status\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment Price on Money {\n  amount\n  currency\n}\n\nfragment ProductCard on Product {\n  id\n  sku\n  name\n  brand\n  imageUrl\n  category {\n    slug\n    name\n  }\n  price(region: $region) {\n    ...Price\n  }\n  listPrice(region: $region) {\n    ...Price\n  }\n  stock(region: $region) {\n    inStock\n  }\n}\n\nfragment ProductDetail on Product {\n  ...ProductCard\n  description\n  activePromotion(region: $region) {\n    id\n    name\n    discountPercent\n    endsAt\n  }\n  stock(region: $region) {\n    available\n    inStock\n  }\n  shippingEstimate(region: $region) {\n    minDays\n    maxDays\n    cost {\n      ...Price\n    }\n    fromWarehouse {\n      code\n      name\n    }\n  }\n}\n\nfragment PageCursor on PageInfo {\n  hasNextPage\n  endCursor\n}\n\nfragment OrderSummary on Order {\n  id\n  status\n  region\n  createdAt\n  total {\n    ...Price\n  }\n  lines {\n    quantity\n    unitPrice {\n      ...Price\n    }\n    lineTotal {\n      ...Price\n    }\n    product {\n      id\n      sku\n      name\n      imageUrl\n    }\n  }\n}\n\nfragment SessionUser on User {\n  id\n  email\n  name\n  region\n}"): (typeof documents)["fragment Price on Money {\n  amount\n  currency\n}\n\nfragment ProductCard on Product {\n  id\n  sku\n  name\n  brand\n  imageUrl\n  category {\n    slug\n    name\n  }\n  price(region: $region) {\n    ...Price\n  }\n  listPrice(region: $region) {\n    ...Price\n  }\n  stock(region: $region) {\n    inStock\n  }\n}\n\nfragment ProductDetail on Product {\n  ...ProductCard\n  description\n  activePromotion(region: $region) {\n    id\n    name\n    discountPercent\n    endsAt\n  }\n  stock(region: $region) {\n    available\n    inStock\n  }\n  shippingEstimate(region: $region) {\n    minDays\n    maxDays\n    cost {\n      ...Price\n    }\n    fromWarehouse {\n      code\n      name\n    }\n  }\n}\n\nfragment PageCursor on PageInfo {\n  hasNextPage\n  endCursor\n}\n\nfragment OrderSummary on Order {\n  id\n  status\n  region\n  createdAt\n  total {\n    ...Price\n  }\n  lines {\n    quantity\n    unitPrice {\n      ...Price\n    }\n    lineTotal {\n      ...Price\n    }\n    product {\n      id\n      sku\n      name\n      imageUrl\n    }\n  }\n}\n\nfragment SessionUser on User {\n  id\n  email\n  name\n  region\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query ProductListing($region: Region!, $filter: ProductFilter, $first: Int = 24, $after: String) {\n  products(filter: $filter, first: $first, after: $after) {\n    totalCount\n    edges {\n      cursor\n      node {\n        ...ProductCard\n      }\n    }\n    pageInfo {\n      ...PageCursor\n    }\n  }\n}"): (typeof documents)["query ProductListing($region: Region!, $filter: ProductFilter, $first: Int = 24, $after: String) {\n  products(filter: $filter, first: $first, after: $after) {\n    totalCount\n    edges {\n      cursor\n      node {\n        ...ProductCard\n      }\n    }\n    pageInfo {\n      ...PageCursor\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query OrderHistory($first: Int = 10, $after: String) {\n  me {\n    id\n    orders(first: $first, after: $after) {\n      totalCount\n      edges {\n        cursor\n        node {\n          ...OrderSummary\n        }\n      }\n      pageInfo {\n        ...PageCursor\n      }\n    }\n  }\n}\n\nquery OrderDetail($id: ID!) {\n  order(id: $id) {\n    ...OrderSummary\n  }\n}"): (typeof documents)["query OrderHistory($first: Int = 10, $after: String) {\n  me {\n    id\n    orders(first: $first, after: $after) {\n      totalCount\n      edges {\n        cursor\n        node {\n          ...OrderSummary\n        }\n      }\n      pageInfo {\n        ...PageCursor\n      }\n    }\n  }\n}\n\nquery OrderDetail($id: ID!) {\n  order(id: $id) {\n    ...OrderSummary\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query ProductById($id: ID!, $region: Region!) {\n  product(id: $id) {\n    ...ProductDetail\n  }\n}\n\nquery ProductBySku($sku: String!, $region: Region!) {\n  product(sku: $sku) {\n    ...ProductDetail\n  }\n}"): (typeof documents)["query ProductById($id: ID!, $region: Region!) {\n  product(id: $id) {\n    ...ProductDetail\n  }\n}\n\nquery ProductBySku($sku: String!, $region: Region!) {\n  product(sku: $sku) {\n    ...ProductDetail\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query ActivePromotions($region: Region!) {\n  promotions(region: $region) {\n    id\n    name\n    discountPercent\n    startsAt\n    endsAt\n    active\n  }\n}"): (typeof documents)["query ActivePromotions($region: Region!) {\n  promotions(region: $region) {\n    id\n    name\n    discountPercent\n    startsAt\n    endsAt\n    active\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query SearchProducts($query: String!, $region: Region!, $first: Int = 24, $after: String) {\n  searchProducts(query: $query, first: $first, after: $after) {\n    totalCount\n    edges {\n      node {\n        ...ProductCard\n      }\n    }\n    pageInfo {\n      ...PageCursor\n    }\n  }\n}"): (typeof documents)["query SearchProducts($query: String!, $region: Region!, $first: Int = 24, $after: String) {\n  searchProducts(query: $query, first: $first, after: $after) {\n    totalCount\n    edges {\n      node {\n        ...ProductCard\n      }\n    }\n    pageInfo {\n      ...PageCursor\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;