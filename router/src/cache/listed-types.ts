import {
  type ConstValueNode,
  type DirectiveNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type FragmentDefinitionNode,
  Kind,
  type OperationDefinitionNode,
  type OperationTypeNode,
  parse,
  type SelectionSetNode,
  type TypeNode,
  valueFromASTUntyped,
} from 'graphql';
import { LRUCache } from 'lru-cache';
import { type EntityPosition, entityPositions, tagAtPositions } from './entity-positions.ts';
import { PER_ENTRY_BYTES, stringBytes } from './sizes.ts';

/**
 * The entity types an operation can LIST, read from its document and the supergraph rather than
 * from the data it got back.
 *
 * A listing or a search shows which entities exist, so an entry holding one carries the bare type
 * (`Product`) that the events of a product created or discontinued carry. keys.ts `tagsOf` finds
 * those types in the data, which says nothing when the list is empty (`{ totalCount: 0, edges: [] }`)
 * or its items lack `__typename`: such an entry would outlive the product created for it until its
 * TTL. Here the same tags come from the selection: every entity type (a type with a key in the
 * supergraph: `@join__type(key:)`, or a plain `@key`) that a field at or below a list position can
 * return, fragments and inline fragments included. A single-entity root field (`product(id:)`) is no
 * list and gets none (its own `Type:id` drops it); its nested lists (a product's reviews) do.
 *
 * The document is a subgraph fetch's text (the planner's, against the subgraph's types, which are the
 * supergraph's under the same names) or a client's operation (against the API schema, a subset of the
 * supergraph's types): both are read against the supergraph's types. Fields the supergraph does not
 * know are skipped. The walk is iterative, each named fragment is expanded once per list state, and it
 * stops at MAX_DEPTH or VISIT_BUDGET selections: past either it answers every entity type of the
 * supergraph (more invalidation, never a stale listing).
 *
 * The same reading also finds where the operation's entities sit in its answer (entity-positions.ts),
 * so `ListedEntityTypes.tagData` can tag a single `product(id:) { id name }` `Product:<id>` though
 * its data carries no `__typename` for `tagsOf` to go by.
 */

/** A field as the walk needs it: its named type and whether a list wraps it at any level. */
interface FieldShape {
  type: string;
  list: boolean;
}

/** The parts of a supergraph the walk reads. */
export interface SupergraphTypes {
  /** Root type names per operation kind. */
  roots: Readonly<Record<OperationTypeNode, string>>;
  /** Object and interface type → its fields. */
  fields: ReadonlyMap<string, ReadonlyMap<string, FieldShape>>;
  /** Composite type → the entity types a value of it can be (itself, members, implementations). */
  entities: ReadonlyMap<string, readonly string[]>;
  /** Every entity type, sorted: the answer when the walk gives up. */
  allEntities: readonly string[];
}

const EMPTY_TYPES: SupergraphTypes = {
  roots: { query: 'Query', mutation: 'Mutation', subscription: 'Subscription' } as Record<OperationTypeNode, string>,
  fields: new Map(),
  entities: new Map(),
  allEntities: [],
};

const JOIN_SPEC = /^https:\/\/specs\.apollo\.dev\/join\/v\d+\.\d+$/;

/** Depth of nested selection sets (fields and fragments) the walk follows. */
export const MAX_DEPTH = 64;
/** Selections the walk visits for one document. */
export const VISIT_BUDGET = 20_000;

/** The name `@join__type` has in this SDL (per its `@link` to the join spec; `join__type` without one). */
function joinTypeName(document: DocumentNode): string {
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION && definition.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const link of definition.directives ?? []) {
      if (link.name.value !== 'link') continue;
      const args = constArguments(link);
      if (typeof args.url === 'string' && JOIN_SPEC.test(args.url)) return `${typeof args.as === 'string' ? args.as : 'join'}__type`;
    }
  }
  return 'join__type';
}

function constArguments(directive: DirectiveNode): Record<string, unknown> {
  return Object.fromEntries((directive.arguments ?? []).map((arg) => [arg.name.value, valueFromASTUntyped(arg.value as ConstValueNode)]));
}

/** A field type's named type and whether a list wraps it (iterative: a type is a short chain of wrappers). */
function shapeOf(type: TypeNode): FieldShape {
  let list = false;
  let node = type;
  while (node.kind !== Kind.NAMED_TYPE) {
    if (node.kind === Kind.LIST_TYPE) list = true;
    node = node.type;
  }
  return { type: node.name.value, list };
}

/** Reads the types, fields, keys, unions and implementations the walk needs from a (core) supergraph SDL. */
export function readSupergraphTypes(supergraphSdl: string | undefined): SupergraphTypes {
  if (!supergraphSdl) return EMPTY_TYPES;
  const document = parse(supergraphSdl, { noLocation: true });
  const joinType = joinTypeName(document);
  const roots = { ...EMPTY_TYPES.roots };
  const fields = new Map<string, Map<string, FieldShape>>();
  const keyed = new Set<string>();
  const members = new Map<string, Set<string>>(); // union → members, interface → implementations
  const implementsOf = new Map<string, string[]>(); // object or interface → interfaces it implements
  const isKey = (directive: DirectiveNode) =>
    directive.name.value === 'key' || (directive.name.value === joinType && directive.arguments?.some((a) => a.name.value === 'key'));
  const addFields = (type: string, definitions: readonly FieldDefinitionNode[] | undefined) => {
    let own = fields.get(type);
    if (!own) fields.set(type, (own = new Map()));
    for (const field of definitions ?? []) own.set(field.name.value, shapeOf(field.type));
  };
  for (const definition of document.definitions) {
    switch (definition.kind) {
      case Kind.SCHEMA_DEFINITION:
      case Kind.SCHEMA_EXTENSION:
        for (const root of definition.operationTypes ?? []) roots[root.operation] = root.type.name.value;
        break;
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.OBJECT_TYPE_EXTENSION:
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_EXTENSION: {
        const name = definition.name.value;
        addFields(name, definition.fields);
        if (definition.directives?.some(isKey)) keyed.add(name);
        const interfaces = implementsOf.get(name) ?? [];
        for (const parent of definition.interfaces ?? []) interfaces.push(parent.name.value);
        implementsOf.set(name, interfaces);
        break;
      }
      case Kind.UNION_TYPE_DEFINITION:
      case Kind.UNION_TYPE_EXTENSION: {
        const set = members.get(definition.name.value) ?? new Set<string>();
        for (const member of definition.types ?? []) set.add(member.name.value);
        members.set(definition.name.value, set);
        break;
      }
      default:
        break;
    }
  }
  // Every type a value of an interface may be: the implementations, and theirs (interfaces may
  // implement interfaces), walked from each type up its `implements` chain without recursion.
  for (const [type] of fields) {
    const seen = new Set<string>();
    const pending = [...(implementsOf.get(type) ?? [])];
    while (pending.length) {
      const parent = pending.pop()!;
      if (seen.has(parent)) continue;
      seen.add(parent);
      let set = members.get(parent);
      if (!set) members.set(parent, (set = new Set()));
      set.add(type);
      pending.push(...(implementsOf.get(parent) ?? []));
    }
  }
  const entities = new Map<string, readonly string[]>();
  for (const type of new Set([...fields.keys(), ...members.keys()])) {
    const possible = [type, ...(members.get(type) ?? [])].filter((name) => keyed.has(name));
    if (possible.length) entities.set(type, [...new Set(possible)].sort());
  }
  return { roots, fields, entities, allEntities: [...keyed].sort() };
}

/** One selection set still to read: the type it selects on and whether a list holds it. */
interface Pending {
  selections: SelectionSetNode;
  type: string;
  listed: boolean;
  depth: number;
}

/**
 * The bare entity types `operation` can return at or below a list position, sorted. Named
 * fragments come from `document`. Iterative and bounded (see the module comment).
 */
export function listedEntityTypes(types: SupergraphTypes, document: DocumentNode, operation: OperationDefinitionNode): string[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const found = new Set<string>();
  const expanded = new Set<string>(); // `<fragment>\n<listed>`: what a fragment adds depends only on that
  const pending: Pending[] = [{ selections: operation.selectionSet, type: types.roots[operation.operation], listed: false, depth: 0 }];
  let visits = 0;
  while (pending.length) {
    const { selections, type, listed, depth } = pending.pop()!;
    if (depth > MAX_DEPTH) return [...types.allEntities];
    for (const selection of selections.selections) {
      if (++visits > VISIT_BUDGET) return [...types.allEntities];
      if (selection.kind === Kind.FIELD) {
        const field = types.fields.get(type)?.get(selection.name.value);
        if (!field) continue; // `__typename`, introspection, or a field the supergraph does not know
        const inList = listed || field.list;
        if (inList) for (const entity of types.entities.get(field.type) ?? []) found.add(entity);
        if (selection.selectionSet)
          pending.push({ selections: selection.selectionSet, type: field.type, listed: inList, depth: depth + 1 });
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        // The list position is the field's: its type's possible entities were added there already.
        const narrowed = selection.typeCondition?.name.value ?? type;
        pending.push({ selections: selection.selectionSet, type: narrowed, listed, depth: depth + 1 });
      } else {
        const fragment = fragments.get(selection.name.value);
        const seen = `${selection.name.value}\n${listed}`;
        if (!fragment || expanded.has(seen)) continue;
        expanded.add(seen);
        pending.push({ selections: fragment.selectionSet, type: fragment.typeCondition.name.value, listed, depth: depth + 1 });
      }
    }
  }
  return [...found].sort();
}

const NONE: readonly string[] = Object.freeze([]);

/** What one document gives, remembered per document. */
interface Reading {
  /** The entity types it can list (`listedEntityTypes`). */
  listed: readonly string[];
  /** Where its entities' objects sit (entity-positions.ts); `ALL`: past the bounds; undefined: none. */
  positions: EntityPosition | typeof ALL | undefined;
  /** An estimate of what the reading holds besides the key, for the byte bound. */
  bytes: number;
}

/** The positions of a document past the walk's bounds: every entity type is tagged. */
const ALL = Symbol('every entity type');
const NOTHING: Reading = Object.freeze({ listed: NONE, positions: undefined, bytes: 0 });

/** Bytes of document text remembered (client documents are up to MAX_DOCUMENT_BYTES each). */
const MEMO_MAX_BYTES = 8 * 1024 * 1024;

export interface ListedTypesOptions {
  /** Documents remembered (least recently used go first). */
  maxEntries?: number;
  maxBytes?: number;
}

/**
 * `listedEntityTypes` and `entityPositions` per document text, against the supergraph last given to
 * `setSupergraph`: the same few hundred documents (the planner's fetches, the clients' operations)
 * come back again and again, so each is read once and remembered (bounded in entries and bytes),
 * and forgotten when the supergraph changes.
 */
export class ListedEntityTypes {
  private types: SupergraphTypes = EMPTY_TYPES;
  private readonly memo: LRUCache<string, Reading>;

  constructor(supergraphSdl?: string, { maxEntries = 1_000, maxBytes = MEMO_MAX_BYTES }: ListedTypesOptions = {}) {
    this.memo = new LRUCache({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (value, key) =>
        PER_ENTRY_BYTES + stringBytes(key) + value.bytes + value.listed.reduce((sum, type) => sum + stringBytes(type), 0),
    });
    if (supergraphSdl) this.setSupergraph(supergraphSdl);
  }

  /** A new supergraph: its types from now on, and nothing read against the previous one. */
  setSupergraph(supergraphSdl: string | undefined): void {
    this.types = readSupergraphTypes(supergraphSdl);
    this.memo.clear();
  }

  /**
   * The entity types `source` (one document) can list, for its operation `operationName` (or its
   * only operation). `document` is `source` parsed, when the caller has it. Nothing for a document
   * that does not parse, or with no such operation.
   */
  of(source: string, operationName?: string | null, document?: DocumentNode): readonly string[] {
    return this.reading(source, operationName, document).listed;
  }

  /**
   * Adds to `into` the tags of the entities `data` (the answer to `source`, as `of` reads it) holds
   * where its selection puts them, `__typename` or not (entity-positions.ts): `Type:<id>` where `id`
   * is selected there, the bare `Type` where it is not; every entity type, bare, for a document past
   * the walk's bounds. For root-field fetches and whole responses: an `_entities` answer's objects
   * are named by its representations.
   */
  tagData(
    data: unknown,
    source: string,
    operationName?: string | null,
    document?: DocumentNode,
    into: Set<string> = new Set(),
  ): Set<string> {
    const { positions } = this.reading(source, operationName, document);
    if (positions === ALL) for (const type of this.types.allEntities) into.add(type);
    else if (positions) tagAtPositions(data, positions, into);
    return into;
  }

  /** Documents remembered; for tests and diagnostics. */
  get size(): number {
    return this.memo.size;
  }

  private reading(source: string, operationName: string | null | undefined, document: DocumentNode | undefined): Reading {
    // Operation names are GraphQL names (no newline): the key cannot be two different pairs.
    const key = `${operationName ?? ''}\n${source}`;
    let reading = this.memo.get(key);
    if (!reading) {
      reading = this.read(source, operationName ?? undefined, document);
      this.memo.set(key, reading);
    }
    return reading;
  }

  private read(source: string, operationName: string | undefined, given: DocumentNode | undefined): Reading {
    if (!this.types.allEntities.length) return NOTHING;
    let document: DocumentNode;
    try {
      document = given ?? parse(source, { noLocation: true });
    } catch {
      return NOTHING; // nothing will be cached for it either
    }
    const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    const operation =
      operationName === undefined
        ? operations.length === 1
          ? operations[0]
          : undefined
        : operations.find((o) => o.name?.value === operationName);
    if (!operation) return NOTHING;
    const listed = listedEntityTypes(this.types, document, operation);
    const positions = entityPositions(this.types, document, operation, { maxDepth: MAX_DEPTH, visitBudget: VISIT_BUDGET });
    return {
      listed: listed.length ? Object.freeze(listed) : NONE,
      positions: positions ? (positions.root.children.size ? positions.root : undefined) : ALL,
      bytes: positions?.bytes ?? 0,
    };
  }
}
