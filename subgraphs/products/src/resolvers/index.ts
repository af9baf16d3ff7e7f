import type { Resolvers } from '../__generated__/resolvers-types.ts';
import { Category } from './Category.ts';
import { Mutation } from './Mutation.ts';
import { Product } from './Product.ts';
import { Query } from './Query.ts';
import { Subscription } from './Subscription.ts';

export const resolvers: Resolvers = { Query, Mutation, Subscription, Product, Category };
