import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so two equal values always give the same cache
 * key whatever order their fields were built in. Iterative, with a stack of its own: the value is
 * a client's variables, and no nesting a client sends may overflow the call stack.
 */
export function stableJson(value: unknown): string {
  let out = '';
  // What is left to write, last first: a value, or text already decided (`Text`).
  const pending: unknown[] = [value];
  while (pending.length) {
    const next = pending.pop();
    if (next instanceof Text) {
      out += next.text;
    } else if (next === null || typeof next !== 'object') {
      out += JSON.stringify(next) ?? 'null';
    } else if (Array.isArray(next)) {
      pending.push(CLOSE_ARRAY);
      for (let i = next.length - 1; i >= 0; i--) {
        pending.push(next[i]);
        if (i > 0) pending.push(COMMA);
      }
      out += '[';
    } else {
      const object = next as Record<string, unknown>;
      const keys = Object.keys(object)
        .filter((key) => object[key] !== undefined)
        .sort();
      pending.push(CLOSE_OBJECT);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        pending.push(object[key], new Text(`${i > 0 ? ',' : ''}${JSON.stringify(key)}:`));
      }
      out += '{';
    }
  }
  return out;
}

/** Output stableJson has decided on, told apart from the values it still has to write. */
class Text {
  constructor(readonly text: string) {}
}
const COMMA = new Text(',');
const CLOSE_ARRAY = new Text(']');
const CLOSE_OBJECT = new Text('}');

/** A short, key-safe digest: keys stay small however large the representation or variables. */
export function digest(material: string): string {
  return createHash('sha1').update(material).digest('base64url');
}

/**
 * Invalidation tags (`Type:id`) for every object in a value that has a `__typename` and an `id`:
 * an entry is dropped when anything it shows changes, not only its own entity. Objects without
 * `__typename` (a root field the planner needs no join for) are tagged from the selection instead,
 * by ListedEntityTypes.tagData (entity-positions.ts).
 *
 * With `collections`, an entity found inside a list (at any depth below it: a page's items, their
 * brands) also gives its bare type (`Product`): a listing or a search shows which entities exist,
 * so creating or discontinuing one (events tag those with the bare type) must drop it, though no
 * `Type:id` it carries changed. As in the subgraph cache (subgraph-kit's tagsOf), only root-field
 * fetches and whole responses take them; `_entities` answers are many per type, and one tag shared
 * by all of them would make every such event drop the lot.
 */
export function tagsOf(value: unknown, into: Set<string> = new Set(), { collections = false } = {}): Set<string> {
  // A stack of its own rather than recursion: the data is a subgraph's answer shaped by a
  // client's operation (and representations the client's operation chose). Each value goes with
  // whether a list holds it (or one of its ancestors).
  const pending: unknown[] = [value];
  const inList: boolean[] = [false];
  while (pending.length) {
    const next = pending.pop();
    const listed = inList.pop()!;
    if (Array.isArray(next)) {
      for (const item of next) {
        if (item === null || typeof item !== 'object') continue;
        pending.push(item);
        inList.push(collections);
      }
    } else if (next !== null && typeof next === 'object') {
      const object = next as Record<string, unknown>;
      const { __typename: typename, id } = object;
      if (typeof typename === 'string' && (typeof id === 'string' || typeof id === 'number')) {
        into.add(`${typename}:${id}`);
        if (listed) into.add(typename);
      }
      for (const key in object) {
        const child = object[key];
        if (child === null || typeof child !== 'object') continue;
        pending.push(child);
        inList.push(listed);
      }
    }
  }
  return into;
}
