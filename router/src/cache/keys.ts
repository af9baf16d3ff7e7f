import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so two equal values always give the same cache
 * key whatever order their fields were built in.
 */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).filter((key) => object[key] !== undefined).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${stableJson(object[key])}`).join(',')}}`;
}

/** A short, key-safe digest: keys stay small however large the representation or variables. */
export function digest(material: string): string {
  return createHash('sha1').update(material).digest('base64url');
}

/**
 * Invalidation tags (`Type:id`) for every object in a value that has a `__typename` and an `id`:
 * an entry is dropped when anything it shows changes, not only its own entity.
 */
export function tagsOf(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) tagsOf(item, into);
  } else if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    const { __typename: typename, id } = object;
    if (typeof typename === 'string' && (typeof id === 'string' || typeof id === 'number')) into.add(`${typename}:${id}`);
    for (const key in object) {
      const child = object[key];
      if (child !== null && typeof child === 'object') tagsOf(child, into);
    }
  }
  return into;
}
