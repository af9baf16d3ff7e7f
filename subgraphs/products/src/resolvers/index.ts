import type { Resolvers } from '../__generated__/resolvers-types.ts';
import { Category } from './Category.ts';
import { Product } from './Product.ts';
import { Query } from './Query.ts';

export const resolvers: Resolvers = { Query, Product, Category };
