import type { Resolvers } from '../__generated__/resolvers-types.ts';
import { Product } from './Product.ts';
import { Query } from './Query.ts';
import { Warehouse } from './Warehouse.ts';

export const resolvers: Resolvers = { Query, Product, Warehouse };
