import type { Resolvers } from '../__generated__/resolvers-types.ts';
import { Mutation } from './Mutation.ts';
import { Order } from './Order.ts';
import { OrderLine } from './OrderLine.ts';
import { Query } from './Query.ts';
import { Subscription } from './Subscription.ts';
import { User } from './User.ts';

export const resolvers: Resolvers = { Query, Mutation, Subscription, User, Order, OrderLine };
