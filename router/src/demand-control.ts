import type { ApolloServerPlugin } from '@apollo/server';
import {
  type ArgumentNode,
  type ConstValueNode,
  type DirectiveNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  GraphQLError,
  type GraphQLInputType,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  type InputValueDefinitionNode,
  isCompositeType,
  isInputObjectType,
  isLeafType,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  type OperationDefinitionNode,
  parse,
  type SelectionSetNode,
  type ValueNode,
  valueFromASTUntyped,
} from 'graphql';
import type { RouterContext } from './context.ts';
import type { RouterMetrics } from './metrics.ts';

/**
 * Demand control: an operation's cost estimated from the supergraph's `@cost` and `@listSize`
 * (https://specs.apollo.dev/cost/v0.1, the IBM cost spec as Apollo Router and Hive Gateway read
 * it), refused with 400 MAX_COST_EXCEEDED over the limit before the gateway plans or fetches.
 *
 * - A mutation costs 10, a query or subscription 0; then every field of the operation, fragments
 *   expanded, costs its `@cost(weight)`, else its type's `@cost`, else 1 for an object, interface
 *   or union and 0 for a scalar or enum. `__typename` and introspection cost 0.
 * - A list field counts once per element it may return: the largest slicing argument given (a
 *   literal, a variable's value, the variable's default, then the argument's schema default),
 *   else the field's `assumedSize`, else `listSize` (COST_LIST_SIZE). Page sizes therefore count
 *   whether they are written inline, sent as variables or left to a default. With `sizedFields`
 *   (connections), the size applies to those child fields (`edges`) instead.
 * - A field's selections are multiplied by its count; argument values add 1 per input object
 *   (plus `@cost` on arguments and input fields) without being multiplied by the field's own count.
 * - Fields skipped by a literal or variable `@skip`/`@include` cost nothing.
 *
 * Response size: the same walk counts the fields the response may hold, because the cost (Apollo's
 * numbers, kept) prices a scalar at 0 and the alias limit counts aliases in the document, not per
 * list element, so 30 aliased `description`s under 60 × 82 products (cost 9,960) answered 10.6 MB.
 * Every selected field counts once per instance of its parent (the product of the list sizes
 * above it, by the rules above), leaves and `__typename` included; a list of scalars or enums
 * also counts its elements. Introspection fields count 1 each and are not walked (their size is
 * the schema's, not the client's). Over `maxResponseFields` is 400 MAX_RESPONSE_FIELDS_EXCEEDED.
 *
 * Unlike Apollo Router (which sums the cost of the planned subgraph fetches, `@requires` included),
 * the client's operation is costed against the supergraph, as Hive Gateway does: the estimate must
 * be known before planning. Variable defaults count where Apollo ignores them. Everything is
 * iterative (no recursion on client documents or variables) and the walk gives up, refusing the
 * operation, after VISIT_BUDGET selections (fragment spreads can multiply a small document).
 */

/** The cost directives of one supergraph, by schema coordinate. */
export interface CostDirectives {
  /** `Type.field` → its @cost weight and @listSize. */
  fields: ReadonlyMap<string, FieldCost>;
  /** `Type` → its @cost weight (objects, scalars, enums). */
  types: ReadonlyMap<string, number>;
  /** `Type.field(arg:)` and `Input.field` → @cost weight. */
  inputs: ReadonlyMap<string, number>;
}

interface FieldCost {
  weight?: number;
  listSize?: ListSize;
}

interface ListSize {
  assumedSize?: number;
  slicingArguments?: string[];
  sizedFields?: string[];
  requireOneSlicingArgument: boolean;
}

export const NO_COST_DIRECTIVES: CostDirectives = { fields: new Map(), types: new Map(), inputs: new Map() };

const COST_SPEC = /^https:\/\/specs\.apollo\.dev\/cost\/v0\.\d+$/;

/** The names `@cost` and `@listSize` have in this SDL, per its `@link` to the cost spec (none without one). */
function costDirectiveNames(document: DocumentNode): { cost: string; listSize: string } | undefined {
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION && definition.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const link of definition.directives ?? []) {
      if (link.name.value !== 'link') continue;
      const args = constArguments(link);
      if (typeof args.url !== 'string' || !COST_SPEC.test(args.url)) continue;
      // Link spec: unimported names are namespaced (`@cost` for the spec's own name, else `@cost__listSize`).
      const namespace = typeof args.as === 'string' ? args.as : 'cost';
      const names = { cost: namespace, listSize: `${namespace}__listSize` };
      for (const entry of Array.isArray(args.import) ? args.import : []) {
        const { name, as } = typeof entry === 'string' ? { name: entry, as: entry } : (entry as { name?: unknown; as?: unknown });
        if (typeof name !== 'string') continue;
        const local = (typeof as === 'string' ? as : name).replace(/^@/, '');
        if (name === '@cost') names.cost = local;
        if (name === '@listSize') names.listSize = local;
      }
      return names;
    }
  }
  return undefined;
}

function constArguments(directive: DirectiveNode): Record<string, unknown> {
  return Object.fromEntries((directive.arguments ?? []).map((arg) => [arg.name.value, valueFromASTUntyped(arg.value as ConstValueNode)]));
}

/** Reads `@cost` and `@listSize` from a (core) supergraph SDL; a supergraph without them has none. */
export function readCostDirectives(supergraphSdl: string | undefined): CostDirectives {
  if (!supergraphSdl) return NO_COST_DIRECTIVES;
  const document = parse(supergraphSdl, { noLocation: true });
  const names = costDirectiveNames(document);
  if (!names) return NO_COST_DIRECTIVES;
  const fields = new Map<string, FieldCost>();
  const types = new Map<string, number>();
  const inputs = new Map<string, number>();
  const weightOf = (directives: readonly DirectiveNode[] | undefined): number | undefined => {
    const cost = directives?.find((d) => d.name.value === names.cost);
    const weight = cost && Number(constArguments(cost).weight);
    return weight !== undefined && Number.isFinite(weight) ? weight : undefined;
  };
  const listSizeOf = (directives: readonly DirectiveNode[] | undefined): ListSize | undefined => {
    const directive = directives?.find((d) => d.name.value === names.listSize);
    if (!directive) return undefined;
    const args = constArguments(directive);
    const strings = (value: unknown) => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined);
    return {
      ...(typeof args.assumedSize === 'number' ? { assumedSize: args.assumedSize } : {}),
      ...(strings(args.slicingArguments) ? { slicingArguments: strings(args.slicingArguments)! } : {}),
      ...(strings(args.sizedFields) ? { sizedFields: strings(args.sizedFields)! } : {}),
      requireOneSlicingArgument: args.requireOneSlicingArgument !== false,
    };
  };
  const readArguments = (coordinate: string, args: readonly InputValueDefinitionNode[] | undefined) => {
    for (const arg of args ?? []) {
      const weight = weightOf(arg.directives);
      if (weight !== undefined) inputs.set(`${coordinate}(${arg.name.value}:)`, weight);
    }
  };
  for (const definition of document.definitions) {
    if (!('name' in definition) || !definition.name || !('directives' in definition)) continue;
    const typeName = definition.name.value;
    const typeWeight = weightOf(definition.directives);
    if (typeWeight !== undefined) types.set(typeName, typeWeight);
    if (!('fields' in definition) || !definition.fields) continue;
    for (const field of definition.fields as readonly (FieldDefinitionNode | InputValueDefinitionNode)[]) {
      const coordinate = `${typeName}.${field.name.value}`;
      const weight = weightOf(field.directives);
      if (field.kind === Kind.INPUT_VALUE_DEFINITION) {
        if (weight !== undefined) inputs.set(coordinate, weight);
        continue;
      }
      const listSize = listSizeOf(field.directives);
      if (weight !== undefined || listSize)
        fields.set(coordinate, { ...(weight !== undefined ? { weight } : {}), ...(listSize ? { listSize } : {}) });
      readArguments(coordinate, field.arguments);
    }
  }
  return { fields, types, inputs };
}

export interface CostOptions {
  /** The size assumed for a list field without `@listSize` (Apollo's `list_size`). */
  listSize: number;
}

/** Selections visited before the estimate gives up (and the operation is refused). */
export const VISIT_BUDGET = 100_000;

/** Why an operation cannot be costed; refused like one over the limit. */
export class CostEstimateError extends Error {}

interface Frame {
  selectionSet: SelectionSetNode;
  parentType: GraphQLCompositeType;
  /** How many times this selection set is resolved (the product of the list sizes above it). */
  multiplier: number;
  /** From a parent's @listSize sizedFields: those child fields' list size. */
  sized: { fields: readonly string[]; size: number } | undefined;
}

/** What one walk of an operation estimates. */
export interface DemandEstimate {
  /** Apollo's cost (see the module comment). */
  cost: number;
  /** Fields (and leaf list elements) the response may hold, lists at their estimated sizes. */
  fields: number;
}

/** The operation's estimated cost (see the module comment). Throws CostEstimateError when it cannot be costed. */
export function estimateCost(...args: Parameters<typeof estimateDemand>): number {
  return estimateDemand(...args).cost;
}

/** The operation's estimated cost and response fields, in one walk. Throws CostEstimateError when it cannot be estimated. */
export function estimateDemand(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>>,
  directives: CostDirectives,
  { listSize }: CostOptions,
  /** Told the name of every variable whose value the estimate used (DemandMemo keys on them). */
  reads?: Set<string>,
): DemandEstimate {
  const rootType = schema.getRootType(operation.operation);
  if (!rootType) throw new CostEstimateError(`The schema has no ${operation.operation} type`);
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  // A variable's value: what the client sent, else the operation's default for it.
  const variableDefaults = new Map((operation.variableDefinitions ?? []).map((v) => [v.variable.name.value, v.defaultValue]));
  const nodeValue = (node: ValueNode): unknown => {
    if (node.kind !== Kind.VARIABLE) {
      if (reads) variablesIn(node, reads);
      return valueFromASTUntyped(node, variables);
    }
    const name = node.name.value;
    reads?.add(name);
    if (Object.hasOwn(variables, name)) return variables[name];
    const fallback = variableDefaults.get(name);
    return fallback ? valueFromASTUntyped(fallback) : undefined;
  };
  const skipped = (nodeDirectives: readonly DirectiveNode[] | undefined): boolean => {
    for (const directive of nodeDirectives ?? []) {
      const name = directive.name.value;
      if (name !== 'skip' && name !== 'include') continue;
      const condition = directive.arguments?.find((a) => a.name.value === 'if');
      const value = condition && nodeValue(condition.value);
      if ((name === 'skip' && value === true) || (name === 'include' && value === false)) return true;
    }
    return false;
  };

  let visits = 0;
  let cost = operation.operation === 'mutation' ? 10 : 0;
  let fields = 0;
  const stack: Frame[] = [{ selectionSet: operation.selectionSet, parentType: rootType, multiplier: 1, sized: undefined }];
  while (stack.length) {
    const frame = stack.pop()!;
    for (const selection of frame.selectionSet.selections) {
      if (++visits > VISIT_BUDGET) throw new CostEstimateError(`The operation expands to more than ${VISIT_BUDGET} selections`);
      if (skipped(selection.directives)) continue;
      if (selection.kind === Kind.INLINE_FRAGMENT || selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? fragments.get(selection.name.value) : selection;
        if (!fragment) continue; // validation refuses unknown fragments before this runs
        const condition = fragment.typeCondition ? schema.getType(fragment.typeCondition.name.value) : frame.parentType;
        if (!condition || !isCompositeType(condition)) continue;
        stack.push({ ...frame, selectionSet: fragment.selectionSet, parentType: condition });
        continue;
      }
      const name = selection.name.value;
      // Its key in each instance of the parent (one multiplier is never NaN: counts are pushed only when > 0).
      fields += frame.multiplier;
      if (name.startsWith('__')) continue; // __typename and introspection: no cost, not walked
      const field = fieldOf(frame.parentType, name);
      if (!field) continue;
      const coordinate = `${frame.parentType.name}.${name}`;
      const annotations = directives.fields.get(coordinate);
      const namedType = getNamedType(field.type);

      // Elements this field returns, per instance of its parent.
      const expected = annotations?.listSize
        ? expectedSize(annotations.listSize, field, selection.arguments, nodeValue, coordinate)
        : undefined;
      const count = !isListType(getNullableType(field.type))
        ? 1
        : frame.sized?.fields.includes(name)
          ? frame.sized.size
          : (expected ?? listSize);
      const weight = annotations?.weight ?? directives.types.get(namedType.name) ?? (isCompositeType(namedType) ? 1 : 0);
      let argumentsCost = 0;
      for (const argument of selection.arguments ?? []) {
        const definition = field.args.find((a) => a.name === argument.name.value);
        if (!definition) continue;
        const argumentCoordinate = `${coordinate}(${definition.name}:)`;
        // A scalar or enum argument (or a list of them) without @cost costs 0 whatever its value: not read.
        if (isLeafType(getNamedType(definition.type)) && !directives.inputs.has(argumentCoordinate)) continue;
        argumentsCost += argumentCost(nodeValue(argument.value), definition.type, argumentCoordinate, directives);
      }
      // Only positive terms: an Infinity multiplier (a client's 1e308 page) times 0 would be NaN,
      // and NaN passes every comparison with the limit.
      const own = count * weight + argumentsCost;
      if (own > 0) cost += frame.multiplier * own;
      // A list of scalars or enums has no selections to count its elements: counted here.
      if (count > 0 && !isCompositeType(namedType) && isListType(getNullableType(field.type))) fields += frame.multiplier * count;
      if (selection.selectionSet && isCompositeType(namedType) && count > 0) {
        const sizedFields = annotations?.listSize?.sizedFields;
        stack.push({
          selectionSet: selection.selectionSet,
          parentType: namedType,
          multiplier: frame.multiplier * count,
          sized: sizedFields?.length && expected !== undefined ? { fields: sizedFields, size: expected } : undefined,
        });
      }
    }
  }
  if (Number.isNaN(cost) || Number.isNaN(fields)) throw new CostEstimateError('The estimate is not a number');
  return { cost, fields };
}

/** The variables a literal list or input object holds somewhere inside it. */
function variablesIn(node: ValueNode, into: Set<string>): void {
  if (node.kind === Kind.VARIABLE) into.add(node.name.value);
  else if (node.kind === Kind.LIST) for (const value of node.values) variablesIn(value, into);
  else if (node.kind === Kind.OBJECT) for (const field of node.fields) variablesIn(field.value, into);
}

interface MemoEntry {
  /** Each variable the estimate read, and its value as JSON (`undefined` when not sent). */
  reads: [name: string, json: string | undefined][];
  estimate: DemandEstimate;
}

/** Estimates kept for one operation AST: a few variable combinations (a page size, a flag). */
const MEMO_ENTRIES_PER_OPERATION = 8;
/**
 * The most characters of variable values one entry keeps. Page sizes and flags are a few; an
 * order's input object is not worth keeping (each checkout is new), and a client's large variables
 * must not be held per document, eight times over, as long as the document store keeps it.
 */
export const MEMO_MAX_READ_CHARS = 256;

/**
 * The same operation (Apollo Server parses a query text once and hands every request the same
 * AST) costs the same for the same values of the variables the walk reads, which are few: slicing
 * arguments, @skip/@include conditions, input objects and arguments with @cost. A product page's
 * `product(id: $id)` reads none. So each operation keeps its last few estimates, keyed by those
 * values, in a WeakMap that lets go with the document. For the same schema and cost directives
 * only: a new supergraph starts afresh. An operation that cannot be estimated is never kept, nor
 * one whose variables read add up to more than MEMO_MAX_READ_CHARS.
 */
export class DemandMemo {
  private byOperation = new WeakMap<OperationDefinitionNode, MemoEntry[]>();
  private schema: GraphQLSchema | undefined;
  private directives: CostDirectives | undefined;

  estimate(...args: Parameters<typeof estimateDemand>): DemandEstimate {
    const [schema, document, operation, variables, directives, options] = args;
    if (schema !== this.schema || directives !== this.directives) {
      this.byOperation = new WeakMap();
      this.schema = schema;
      this.directives = directives;
    }
    const entries = this.byOperation.get(operation) ?? [];
    for (const entry of entries) {
      if (entry.reads.every(([name, json]) => jsonOf(variables, name) === json)) return entry.estimate;
    }
    const reads = new Set<string>();
    const estimate = estimateDemand(schema, document, operation, variables, directives, options, reads);
    const read: MemoEntry['reads'] = [...reads].map((name) => [name, jsonOf(variables, name)]);
    if (read.reduce((chars, [name, json]) => chars + name.length + (json?.length ?? 0), 0) > MEMO_MAX_READ_CHARS) return estimate;
    if (entries.length >= MEMO_ENTRIES_PER_OPERATION) entries.shift();
    entries.push({ reads: read, estimate });
    this.byOperation.set(operation, entries);
    return estimate;
  }
}

const jsonOf = (variables: Readonly<Record<string, unknown>>, name: string) =>
  Object.hasOwn(variables, name) ? JSON.stringify(variables[name]) : undefined;

function fieldOf(type: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined {
  return isObjectType(type) || isInterfaceType(type) ? type.getFields()[name] : undefined;
}

/**
 * @listSize's size for one occurrence of the field: the largest slicing argument with a value
 * (given, else the argument's schema default), else `assumedSize`. With `requireOneSlicingArgument`
 * (the spec's default) exactly one slicing argument must have a value, as Apollo Router requires.
 */
function expectedSize(
  listSize: ListSize,
  field: GraphQLField<unknown, unknown>,
  given: readonly ArgumentNode[] | undefined,
  nodeValue: (node: ValueNode) => unknown,
  coordinate: string,
): number | undefined {
  const slicing = listSize.slicingArguments ?? [];
  const sizes: number[] = [];
  for (const name of slicing) {
    const argument = given?.find((a) => a.name.value === name);
    // Not given (or a variable not sent): the argument's schema default, as execution would use.
    const value = (argument ? nodeValue(argument.value) : undefined) ?? field.args.find((a) => a.name === name)?.defaultValue;
    if (typeof value === 'number' && Number.isFinite(value)) sizes.push(Math.max(0, value));
  }
  if (slicing.length && listSize.requireOneSlicingArgument && sizes.length !== 1) {
    throw new CostEstimateError(`${coordinate} needs exactly one of its slicing arguments (${slicing.join(', ')}), got ${sizes.length}`);
  }
  return sizes.length ? Math.max(...sizes) : listSize.assumedSize;
}

/**
 * An argument value's cost, Apollo's way: each input object 1 (or its `@cost`), lists the sum of
 * their elements, scalars 0 (or their `@cost`). Walked with a stack: the value is the client's.
 */
function argumentCost(value: unknown, type: GraphQLInputType, coordinate: string, directives: CostDirectives): number {
  let cost = 0;
  const stack: { value: unknown; type: GraphQLInputType; coordinate: string }[] = [{ value, type, coordinate }];
  while (stack.length) {
    const item = stack.pop()!;
    if (item.value === null || item.value === undefined) continue;
    const weight = directives.inputs.get(item.coordinate);
    const nullable = getNullableType(item.type);
    if (isListType(nullable)) {
      cost += weight ?? 0;
      // Like Apollo, each element is scored with the list argument's own definition.
      for (const element of Array.isArray(item.value) ? item.value : [item.value])
        stack.push({ value: element, type: nullable.ofType, coordinate: item.coordinate });
    } else if (isInputObjectType(nullable) && typeof item.value === 'object') {
      cost += weight ?? 1;
      const fields = nullable.getFields();
      for (const [key, inner] of Object.entries(item.value as Record<string, unknown>)) {
        const definition = fields[key];
        if (definition) stack.push({ value: inner, type: definition.type, coordinate: `${nullable.name}.${key}` });
      }
    } else {
      cost += weight ?? 0;
    }
  }
  return cost;
}

export interface DemandControlOptions {
  maxCost: number;
  /** Fields the response may hold (see the module comment; MAX_RESPONSE_FIELDS). */
  maxResponseFields: number;
  listSize: number;
  /**
   * Development: answer requests that send the COST_HEADER with `extensions.cost: { estimated, max }`
   * (asked for, like the gateway's query plan, so ordinary responses keep their exact shape).
   */
  exposeCost: boolean;
  metrics: RouterMetrics;
}

export const COST_CODE = 'MAX_COST_EXCEEDED';
/**
 * Its own code, not MAX_COST_EXCEEDED: the cost is Apollo's number (clients and dashboards compare
 * it with Apollo's), and a client told "cost" would look for lists to shorten, not aliases to drop.
 */
export const RESPONSE_FIELDS_CODE = 'MAX_RESPONSE_FIELDS_EXCEEDED';
export const COST_HEADER = 'x-expose-cost';

/**
 * The Apollo Server plugin: reads the cost directives from every supergraph the gateway loads,
 * estimates each operation once it is resolved (after validation, so depth and the other limits
 * have already bounded it) and refuses it over `maxCost` before any plan or fetch.
 */
export function demandControlPlugin({
  maxCost,
  maxResponseFields,
  listSize,
  exposeCost,
  metrics,
}: DemandControlOptions): ApolloServerPlugin<RouterContext> {
  let directives = NO_COST_DIRECTIVES;
  const memo = new DemandMemo();
  const refuse = (message: string, code: string = COST_CODE) => new GraphQLError(message, { extensions: { code, http: { status: 400 } } });
  return {
    async serverWillStart() {
      return {
        schemaDidLoadOrUpdate({ coreSupergraphSdl }) {
          directives = readCostDirectives(coreSupergraphSdl);
        },
      };
    },
    async requestDidStart() {
      let estimated: number | undefined;
      let fields = 0;
      return {
        async didResolveOperation({ schema, document, operation, request, operationName, contextValue }) {
          if (!operation) return;
          try {
            ({ cost: estimated, fields } = memo.estimate(schema, document, operation, request.variables ?? {}, directives, { listSize }));
          } catch (error) {
            if (error instanceof CostEstimateError)
              throw refuse(`Operation cost cannot be estimated within the limit of ${maxCost}: ${error.message}.`);
            throw error;
          }
          // A client's 1e308 page size makes the estimate Infinity: kept finite for the metric's sum.
          estimated = Math.min(estimated, Number.MAX_SAFE_INTEGER);
          metrics.operationCost.observe(metrics.labels.pair(operationName, contextValue.clientName), estimated);
          if (estimated > maxCost) throw refuse(`Operation cost limit of ${maxCost} exceeded: estimated ${Math.ceil(estimated)}.`);
          if (fields > maxResponseFields) {
            throw refuse(
              `Response field limit of ${maxResponseFields} exceeded: estimated ${Math.min(fields, Number.MAX_SAFE_INTEGER)}.`,
              RESPONSE_FIELDS_CODE,
            );
          }
        },
        async willSendResponse({ request, response }) {
          if (!exposeCost || estimated === undefined || response.body.kind !== 'single' || !request.http?.headers.has(COST_HEADER)) return;
          const result = response.body.singleResult;
          result.extensions = { ...result.extensions, cost: { estimated, max: maxCost } };
        },
      };
    },
  };
}
