import { type DocumentNode, type FragmentDefinitionNode, Kind, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import type { SupergraphTypes } from './listed-types.ts';
import { stringBytes } from './sizes.ts';

/**
 * Where in a response an entity's object sits, read from the operation's document and the
 * supergraph, so its data can be tagged `Type:<id>` though it carries no `__typename`.
 *
 * keys.ts `tagsOf` tags only objects that carry both `__typename` and `id`; neither a client's
 * `product(id:) { id name }` nor the planner's root fetch for it asks for `__typename`, and its
 * entries would outlive an update of that product until their TTL. Here every response path at which
 * an entity type's object appears (`product`, `products.edges[].node`, `order.lines[].product`;
 * the data key is the alias where there is one) is a position, with the entity types an object
 * there can be and, per type, the response key its `id` is selected under there, if it is.
 * `tagAtPositions` then walks the data along those paths: an object gets `Type:<id>`, or the bare
 * `Type` where its position does not select `id` (or the data has none): an update of any product
 * drops it then (events of an update carry the bare type too), more than needed, never stale.
 *
 * The key field is `id`: every entity of the shop is keyed by it (a product by `sku` too).
 */

/** The key field whose value names an entity in its tags. */
const KEY_FIELD = 'id';

/** One response path: what sits below it, and the entities an object at it can be. */
export interface EntityPosition {
  /** Response key (the alias, where there is one) → the position below it. */
  readonly children: Map<string, EntityPosition>;
  /**
   * The entity types an object here can be (the field's type, or the entity types an abstract one can
   * be) → the response key its `id` is selected under here (undefined: not selected). Unset: no entity.
   */
  entities: Map<string, string | undefined> | undefined;
}

export interface EntityPositions {
  root: EntityPosition;
  /** An estimate of the memory the positions hold, for the memo's byte bound. */
  bytes: number;
}

export interface PositionLimits {
  /** Depth of nested selection sets followed. */
  maxDepth: number;
  /** Selections visited for one document. */
  visitBudget: number;
}

/** One selection set still to read: the position its fields are below, and the type it selects on there. */
interface Pending {
  selections: SelectionSetNode;
  type: string;
  position: EntityPosition;
  depth: number;
}

/** Rough sizes, on top of their strings: a position (its object, its Map, its parent's entry), an entity type's entry. */
const POSITION_BYTES = 160;
const ENTRY_BYTES = 48;

/**
 * The entity positions of `operation` (named fragments from `document`), or undefined when the
 * document is past `limits` (the caller then assumes every entity type). Iterative; a named fragment
 * is expanded once per position (its fields land at that position's paths); fields the supergraph does
 * not know, `__typename` and introspection are skipped.
 */
export function entityPositions(
  types: SupergraphTypes,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  limits: PositionLimits,
): EntityPositions | undefined {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const root: EntityPosition = { children: new Map(), entities: undefined };
  let bytes = POSITION_BYTES;
  const expanded = new Map<EntityPosition, Set<string>>(); // named fragments already read at a position
  const pending: Pending[] = [{ selections: operation.selectionSet, type: types.roots[operation.operation], position: root, depth: 0 }];
  // Every position made, each after its parent: read backwards, a position comes before its parent.
  const created: { position: EntityPosition; parent: EntityPosition; key: string }[] = [];
  let visits = 0;
  while (pending.length) {
    const { selections, type, position, depth } = pending.pop()!;
    if (depth > limits.maxDepth) return undefined;
    for (const selection of selections.selections) {
      if (++visits > limits.visitBudget) return undefined;
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        const key = selection.alias?.value ?? name;
        if (!selection.selectionSet) {
          if (name === KEY_FIELD && position.entities) markKey(types, position.entities, type, key);
          continue;
        }
        const field = types.fields.get(type)?.get(name);
        if (!field) continue;
        let child = position.children.get(key);
        if (!child) {
          child = { children: new Map(), entities: undefined };
          position.children.set(key, child);
          created.push({ position: child, parent: position, key });
          bytes += POSITION_BYTES + stringBytes(key);
        }
        const possible = types.entities.get(field.type);
        if (possible) {
          // Fields of one response key under different type conditions merge: their entity types add up.
          const entities = (child.entities ??= new Map());
          for (const entity of possible) {
            if (entities.has(entity)) continue;
            entities.set(entity, undefined);
            bytes += ENTRY_BYTES + stringBytes(entity);
          }
        }
        pending.push({ selections: selection.selectionSet, type: field.type, position: child, depth: depth + 1 });
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        // Same position, narrowed type: an `id` in `... on Product` is Product's key here, not Brand's.
        const narrowed = selection.typeCondition?.name.value ?? type;
        pending.push({ selections: selection.selectionSet, type: narrowed, position, depth: depth + 1 });
      } else {
        const fragment = fragments.get(selection.name.value);
        if (!fragment) continue;
        let seen = expanded.get(position);
        if (!seen) expanded.set(position, (seen = new Set()));
        if (seen.has(fragment.name.value)) continue;
        seen.add(fragment.name.value);
        pending.push({ selections: fragment.selectionSet, type: fragment.typeCondition.name.value, position, depth: depth + 1 });
      }
    }
  }
  // Paths with no entity at or below them (a page's `pageInfo`, a price) are dropped: the data walk
  // follows only what can tag.
  for (let i = created.length - 1; i >= 0; i--) {
    const { position, parent, key } = created[i]!;
    if (position.entities || position.children.size) continue;
    parent.children.delete(key);
    bytes -= POSITION_BYTES + stringBytes(key);
  }
  return { root, bytes };
}

/** `id` selected under `key` while selecting on `type`: the key of each entity type `type` can be at this position. */
function markKey(types: SupergraphTypes, entities: Map<string, string | undefined>, type: string, key: string): void {
  for (const entity of types.entities.get(type) ?? []) {
    if (entities.has(entity) && entities.get(entity) === undefined) entities.set(entity, key);
  }
}

/**
 * Adds to `into` the tags of every object `data` holds at an entity position: `Type:<id>` where the
 * position selects `id` and the object has one, the bare `Type` otherwise. The type is the object's
 * `__typename` when it has one (no tag when that is no entity the position can be), else every
 * entity type the position can be. A stack of its own, no recursion: the data is a subgraph's answer
 * to a client's operation. Each value is visited once (positions form a tree, as the data does).
 */
export function tagAtPositions(data: unknown, root: EntityPosition, into: Set<string>): Set<string> {
  if (!root.children.size) return into;
  const values: unknown[] = [data];
  const at: EntityPosition[] = [root];
  while (values.length) {
    const value = values.pop();
    const position = at.pop()!;
    if (Array.isArray(value)) {
      // A list (of lists) of objects at one position: each item sits at it.
      for (const item of value) {
        if (item === null || typeof item !== 'object') continue;
        values.push(item);
        at.push(position);
      }
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    const object = value as Record<string, unknown>;
    if (position.entities) tagObject(object, position.entities, into);
    for (const [key, child] of position.children) {
      // Own keys only: a response key like `constructor` must not reach the prototype.
      if (!Object.hasOwn(object, key)) continue;
      const below = object[key];
      if (below === null || typeof below !== 'object') continue;
      values.push(below);
      at.push(child);
    }
  }
  return into;
}

function tagObject(object: Record<string, unknown>, entities: ReadonlyMap<string, string | undefined>, into: Set<string>): void {
  const typename = object.__typename;
  if (typeof typename === 'string') {
    if (entities.has(typename)) tagAs(object, typename, entities.get(typename), into);
    return;
  }
  // No `__typename`: it is one of these, and which is unknown; each gets its tag.
  for (const [type, key] of entities) tagAs(object, type, key, into);
}

function tagAs(object: Record<string, unknown>, type: string, key: string | undefined, into: Set<string>): void {
  const id = key === undefined || !Object.hasOwn(object, key) ? undefined : object[key];
  // `id` unselected, or skipped (`@include(if: false)`): which one it is is unknown, so every one of its type.
  into.add(typeof id === 'string' || typeof id === 'number' ? `${type}:${id}` : type);
}
