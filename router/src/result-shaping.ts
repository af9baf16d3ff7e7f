import { createRequire } from 'node:module';

/**
 * The gateway's last step on every request, `computeResponse`, walks the operation beside the
 * merged subgraph results to build the client's response: it keeps only the fields asked for (in
 * the client's aliases), applies @skip/@include and fragment type conditions, checks leaf values
 * and __typename, and nulls what a missing non-null field makes invalid. The library re-derives
 * every fact about a selection on each visit (its directives, its field definition, the type's
 * wrappers), each through the re-export getters of `@apollo/federation-internals`, and allocates a
 * result object per value: about 14% of the router's CPU on a listing page (`npm run bench:profile`).
 *
 * This is the same walk over a plan compiled once per selection set: the facts are fields of a
 * plain object, the library's functions are local bindings, and a value's flags travel in the
 * request's state instead of a fresh object. The output, the errors (message and path) and the
 * exceptions a malformed subgraph result raises are the library's own: the differential test
 * (router/test/result-shaping.test.ts) runs both over the same operations and inputs.
 *
 * Plans live in a WeakMap keyed by the operation's selection sets, which the operation cache
 * (operation-cache.ts) keeps as long as the parsed document lives; it is installed only where that
 * cache is, since without it every request would compile a plan for a new operation.
 */

/* The parts of federation-internals' classes the walk reads (the package is the gateway's, not ours). */
interface NamedType {
  kind: string;
  name: string;
}
interface WrapperType {
  kind: 'NonNullType' | 'ListType';
  ofType: FieldType;
}
type FieldType = NamedType | WrapperType;
interface Schema {
  type(name: string): NamedType | undefined;
  skipDirective(): unknown;
  includeDirective(): unknown;
  schemaDefinition: { rootType(kind: string): NamedType };
}
interface Directive {
  arguments(): { if?: unknown };
}
interface Element {
  appliedDirectivesOf(definition: unknown): Directive[];
}
interface FieldElement extends Element {
  name: string;
  responseName(): string;
  definition: { type: FieldType; isSchemaIntrospectionField(): boolean };
}
interface FragmentElement extends Element {
  typeCondition?: NamedType;
}
interface Selection {
  kind: 'FieldSelection' | 'FragmentSelection';
  element: FieldElement | FragmentElement;
  selectionSet?: SelectionSet;
}
interface SelectionSet {
  selections(): readonly Selection[];
}
interface Operation {
  schema(): Schema;
  rootKind: string;
  selectionSet: SelectionSet;
  collectDefaultedVariableValues(): Record<string, unknown>;
}
interface ComputeArgs {
  operation: Operation;
  variables?: Record<string, unknown>;
  input: Record<string, unknown> | null | undefined;
  introspectionHandling: (selection: Selection) => unknown;
}
type ComputeResponse = ((args: ComputeArgs) => { data: unknown; errors: unknown[] }) & { [MARK]?: true; original?: ComputeResponse };

interface Library {
  typenameFieldName: string;
  Variable: new (...args: never[]) => { name: string };
  isSubtype(type: NamedType, maybeSubType: NamedType): boolean;
  isValidLeafValue(schema: Schema, value: unknown, type: NamedType): boolean;
  invalidGraphQL(message: string, options: { path: (string | number)[] }): unknown;
}

/** A skip or include condition: a variable's name, or the literal it was given. */
interface Condition {
  variable?: string;
  literal?: unknown;
  /** For the library's message when the variable's value is not a boolean. */
  describe: () => string;
}

const NON_NULL = 0;
const LIST = 1;
const COMPOSITE = 2;
const LEAF = 3;
/** A field's type, unwrapped once: a chain of non-null and list steps ending in a named type. */
interface TypeStep {
  k: typeof NON_NULL | typeof LIST | typeof COMPOSITE | typeof LEAF;
  type: FieldType;
  of?: TypeStep;
}

const FIELD = 0;
const TYPENAME = 1;
const INTROSPECTION = 2;
const FRAGMENT = 3;
interface Step {
  k: typeof FIELD | typeof TYPENAME | typeof INTROSPECTION | typeof FRAGMENT;
  skip?: Condition;
  include?: Condition;
  responseName: string;
  type?: TypeStep;
  plan?: Plan;
  selection: Selection;
  typeCondition?: NamedType;
  /** Whether the type condition applies, by the runtime type it was checked against (bounded by the schema's types). */
  applies?: Map<NamedType, boolean>;
}
type Plan = Step[];

/** One request's walk: what the library keeps in its `parameters`, plus the last value's flags. */
interface State {
  schema: Schema;
  operation: Operation;
  given: Record<string, unknown> | undefined;
  variables?: Record<string, unknown>;
  errors: unknown[];
  introspection: (selection: Selection) => unknown;
  /** The last `update` made its parent invalid (a null in a non-null position). */
  invalid: boolean;
  /** The last `update` recorded an error (so a non-null parent does not add a second). */
  hasErrors: boolean;
}

const MARK = Symbol.for('shop.router.resultShaping');
let compiled = 0;

/** Replaces the gateway's `computeResponse` with the compiled walk; false if the library moved it. */
export function installResultShaping(): boolean {
  const library = loadLibrary();
  if (!library) return false;
  const { shaping, lib } = library;
  const original = shaping.computeResponse;
  if (typeof original !== 'function') return false;
  if (original[MARK]) return true;
  const replacement = createComputeResponse(lib);
  replacement.original = original;
  try {
    shaping.computeResponse = replacement;
  } catch {
    return false;
  }
  return shaping.computeResponse === replacement;
}

/** The library's own `computeResponse` and the compiled one, side by side (for the differential test). */
export function resultShapers(): { library: ComputeResponse; compiled: ComputeResponse } | undefined {
  const library = loadLibrary();
  if (!library) return undefined;
  const current = library.shaping.computeResponse!;
  return { library: current.original ?? current, compiled: createComputeResponse(library.lib) };
}

/** How many selection-set plans were compiled since the last call (for tests). */
export function takeCompiledPlans(): number {
  const count = compiled;
  compiled = 0;
  return count;
}

function loadLibrary(): { shaping: { computeResponse?: ComputeResponse }; lib: Library } | undefined {
  const gatewayRequire = createRequire(createRequire(import.meta.url).resolve('@apollo/gateway'));
  try {
    const shaping = gatewayRequire('@apollo/gateway/dist/resultShaping') as { computeResponse?: ComputeResponse };
    const internals = gatewayRequire('@apollo/federation-internals') as Record<string, unknown>;
    const errors = internals.ERRORS as { INVALID_GRAPHQL?: { err(message: string, options: object): unknown } } | undefined;
    const lib = {
      typenameFieldName: internals.typenameFieldName,
      Variable: internals.Variable,
      isSubtype: internals.isSubtype,
      isValidLeafValue: internals.isValidLeafValue,
      invalidGraphQL: errors?.INVALID_GRAPHQL ? errors.INVALID_GRAPHQL.err.bind(errors.INVALID_GRAPHQL) : undefined,
    };
    if (
      typeof lib.typenameFieldName !== 'string' ||
      typeof lib.Variable !== 'function' ||
      typeof lib.isSubtype !== 'function' ||
      typeof lib.isValidLeafValue !== 'function' ||
      typeof lib.invalidGraphQL !== 'function'
    )
      return undefined;
    return { shaping, lib: lib as Library };
  } catch {
    return undefined;
  }
}

function createComputeResponse(lib: Library): ComputeResponse {
  const TYPENAME_FIELD = lib.typenameFieldName;
  const { isSubtype, isValidLeafValue, invalidGraphQL, Variable } = lib;
  const plans = new WeakMap<SelectionSet, Plan>();
  const typeSteps = new WeakMap<FieldType, TypeStep>();

  function planOf(selectionSet: SelectionSet, schema: Schema): Plan {
    let plan = plans.get(selectionSet);
    if (!plan) {
      plan = selectionSet.selections().map((selection) => stepOf(selection, schema));
      plans.set(selectionSet, plan);
      compiled++;
    }
    return plan;
  }

  function conditionOf(element: Element, definition: unknown): Condition | undefined {
    const directive = element.appliedDirectivesOf(definition)[0];
    if (!directive) return undefined;
    const arg = directive.arguments().if;
    const describe = () => `${arg} of ${directive}`;
    return arg instanceof Variable ? { variable: arg.name, describe } : { literal: arg, describe };
  }

  function stepOf(selection: Selection, schema: Schema): Step {
    const skip = conditionOf(selection.element, schema.skipDirective());
    const include = conditionOf(selection.element, schema.includeDirective());
    const sub = selection.selectionSet ? planOf(selection.selectionSet, schema) : undefined;
    if (selection.kind === 'FieldSelection') {
      const field = selection.element as FieldElement;
      const k = field.definition.isSchemaIntrospectionField() ? INTROSPECTION : field.name === TYPENAME_FIELD ? TYPENAME : FIELD;
      return { k, skip, include, responseName: field.responseName(), type: typeStepOf(field.definition.type), plan: sub, selection };
    }
    const fragment = selection.element as FragmentElement;
    return {
      k: FRAGMENT,
      skip,
      include,
      responseName: '',
      plan: sub,
      selection,
      typeCondition: fragment.typeCondition,
      applies: new Map(),
    };
  }

  function typeStepOf(type: FieldType): TypeStep {
    let step = typeSteps.get(type);
    if (!step) {
      if (type.kind === 'NonNullType') step = { k: NON_NULL, type, of: typeStepOf((type as WrapperType).ofType) };
      else if (type.kind === 'ListType') step = { k: LIST, type, of: typeStepOf((type as WrapperType).ofType) };
      else step = { k: isComposite(type as NamedType) ? COMPOSITE : LEAF, type };
      typeSteps.set(type, step);
    }
    return step;
  }

  function conditionValue(condition: Condition, state: State): unknown {
    if (condition.variable === undefined) return condition.literal;
    if (!state.variables) {
      state.variables = { __proto__: null, ...state.operation.collectDefaultedVariableValues(), ...state.given } as Record<string, unknown>;
    }
    const value = state.variables[condition.variable];
    if (value === undefined || typeof value !== 'boolean')
      throw new Error(`Unexpected value ${value} for variable ${condition.describe()}`);
    return value;
  }

  function skipped(step: Step, state: State): boolean {
    return Boolean((step.skip && conditionValue(step.skip, state)) || (step.include && !conditionValue(step.include, state)));
  }

  function fragmentApplies(step: Step, typename: unknown, parentType: NamedType, schema: Schema): boolean {
    const condition = step.typeCondition;
    if (!condition) return true;
    let runtime: NamedType | undefined = parentType;
    if (typename) {
      runtime = schema.type(typename as string);
      if (!runtime) return false;
    }
    let applies = step.applies!.get(runtime);
    if (applies === undefined) {
      applies = isSubtype(condition, runtime);
      step.applies!.set(runtime, applies);
    }
    return applies;
  }

  /** The library's `applySelectionSet`: true where it returns NULL_BUBBLE_UP. */
  function apply(
    input: Record<string, unknown>,
    plan: Plan,
    output: Record<string, unknown>,
    state: State,
    path: (string | number)[],
    parentType: NamedType,
  ): boolean {
    for (let i = 0; i < plan.length; i++) {
      const step = plan[i]!;
      if ((step.skip || step.include) && skipped(step, state)) continue;
      const name = step.responseName;
      switch (step.k) {
        case INTROSPECTION:
          if (output[name] === undefined) output[name] = state.introspection(step.selection);
          continue;
        case TYPENAME: {
          if (output[name] !== undefined) continue;
          let value = own(input, name) ?? null;
          if (value === null && name !== TYPENAME_FIELD) value = input[TYPENAME_FIELD] ?? null;
          const type = value !== null && typeof value === 'string' ? (state.schema.type(value) ?? parentType) : parentType;
          if (type.kind !== 'ObjectType') return true;
          output[name] = type.name;
          continue;
        }
        case FIELD: {
          path.push(name);
          output[name] = update(output[name], step.type!, own(input, name) ?? null, step.plan, path, state, parentType);
          path.pop();
          if (state.invalid) return true;
          continue;
        }
        default: {
          const typename = input[TYPENAME_FIELD];
          if (typename && typeof typename !== 'string') throw new Error(`Got unexpected value for __typename: ${typename}`);
          if (fragmentApplies(step, typename, parentType, state.schema)) {
            if (apply(input, step.plan!, output, state, path, step.typeCondition ?? parentType)) return true;
          }
        }
      }
    }
    return false;
  }

  /** The library's `updateOutputValue`: returns `updated`, leaves `isInvalid`/`hasErrors` in the state. */
  function update(
    outputValue: unknown,
    t: TypeStep,
    inputValue: unknown,
    plan: Plan | undefined,
    path: (string | number)[],
    state: State,
    parentType: NamedType,
  ): unknown {
    if (inputValue === undefined) throw new Error('Should not pass undefined for `inputValue` to this method');
    state.invalid = false;
    state.hasErrors = false;
    if (outputValue === null || (outputValue !== undefined && !plan)) return outputValue;
    if (t.k === NON_NULL) {
      const inner = t.of!;
      const updated = update(outputValue, inner, inputValue, plan, path, state, parentType);
      if (updated === null) {
        if (!state.hasErrors) {
          state.errors.push(
            invalidGraphQL(`Cannot return null for non-nullable ${describe(path, inner.type, parentType)}.`, { path: Array.from(path) }),
          );
        }
        state.invalid = true;
        state.hasErrors = true;
        return null;
      }
      state.invalid = false;
      state.hasErrors = false;
      return updated;
    }
    if (inputValue === null) return null;
    if (t.k === LIST) {
      if (!Array.isArray(inputValue)) throw new Error(`Invalid non-list value ${inputValue} returned by subgraph for list type ${t.type}`);
      if (outputValue !== undefined && !Array.isArray(outputValue))
        throw new Error(`Invalid non-list value ${outputValue} returned by subgraph for list type ${t.type}`);
      const list = (outputValue as unknown[] | undefined) ?? new Array(inputValue.length).fill(undefined);
      if (inputValue.length !== list.length)
        throw new Error(`[${inputValue}].length (${inputValue.length}) !== [${list}].length (${list.length})`);
      const inner = t.of!;
      let nullify = false;
      let hasErrors = false;
      const updated = new Array(list.length);
      for (let i = 0; i < list.length; i++) {
        path.push(i);
        updated[i] = update(list[i], inner, inputValue[i], plan, path, state, parentType);
        path.pop();
        nullify ||= state.invalid;
        hasErrors ||= state.hasErrors;
      }
      state.invalid = false;
      state.hasErrors = hasErrors;
      return nullify ? null : updated;
    }
    const type = t.type as NamedType;
    if (t.k === COMPOSITE) {
      if (!plan) throw new Error(`Invalid empty selection set for composite type ${type}`);
      if (typeof inputValue !== 'object')
        throw new Error(`Invalid non-object value ${inputValue} returned by subgraph for composite type ${type}`);
      if (outputValue !== undefined && typeof outputValue !== 'object')
        throw new Error(`Invalid non-object value ${inputValue} returned by subgraph for composite type ${type}`);
      const input = inputValue as Record<string, unknown>;
      const typename = input[TYPENAME_FIELD];
      if (typename !== undefined && typeof typename !== 'string')
        throw new Error(`Invalid non-string value ${typename} for __typename at ${path}`);
      let objectType = type;
      if (typename) {
        const named = state.schema.type(typename);
        if (!named || !isComposite(named)) {
          state.errors.push(
            invalidGraphQL(`Invalid __typename found for object at ${describe(path, type, parentType)}.`, { path: Array.from(path) }),
          );
          state.hasErrors = true;
          return null;
        }
        objectType = named;
      }
      const output = (outputValue as Record<string, unknown> | undefined) ?? Object.create(null);
      const bubbled = apply(input, plan, output, state, path, objectType);
      state.invalid = false;
      state.hasErrors = bubbled;
      return bubbled ? null : output;
    }
    if (outputValue !== undefined) throw new Error(`Excepted output to be undefined but got ${type} for type ${type}`);
    const valid = isValidLeafValue(state.schema, inputValue, type);
    if (!valid) {
      state.errors.push(invalidGraphQL(`Invalid value found for ${describe(path, type, parentType)}.`, { path: Array.from(path) }));
      state.hasErrors = true;
      return null;
    }
    return inputValue;
  }

  const computeResponse: ComputeResponse = ({ operation, variables, input, introspectionHandling }) => {
    if (!input) return { data: input, errors: [] };
    const schema = operation.schema();
    const state: State = {
      schema,
      operation,
      given: variables,
      errors: [],
      introspection: introspectionHandling,
      invalid: false,
      hasErrors: false,
    };
    const data = Object.create(null) as Record<string, unknown>;
    const bubbled = apply(
      input,
      planOf(operation.selectionSet, schema),
      data,
      state,
      [],
      schema.schemaDefinition.rootType(operation.rootKind),
    );
    return { data: bubbled ? null : data, errors: state.errors };
  };
  computeResponse[MARK] = true;
  return computeResponse;
}

function own(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function isComposite(type: NamedType): boolean {
  return type.kind === 'ObjectType' || type.kind === 'InterfaceType' || type.kind === 'UnionType';
}

/** The library's `pathLastElementDescription`, for its error messages. */
function describe(path: readonly (string | number)[], currentType: FieldType, parentType: NamedType): string {
  const element = path[path.length - 1];
  if (element === undefined) throw new Error('Should not have been called on an empty path');
  return typeof element === 'string' ? `field ${parentType}.${element}` : `array element of type ${currentType} at index ${element}`;
}
