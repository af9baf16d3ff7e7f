/**
 * Label values that come from clients (operation names, client names) are bounded: every distinct
 * value is a Prometheus series kept for the life of the process and written on every scrape, so a
 * client sending a new name per request would grow memory and `/metrics` without limit.
 *
 * The rule: a value must look like a name (`pattern`, which also caps its length), else it reads
 * as `invalid`; the first `max` valid values are admitted (first come, or admitted up front with
 * `admit`), and every later new value reads as `other`. The helper holds at most `max` short strings.
 */

/** A GraphQL name of at most 64 characters. */
export const OPERATION_LABEL_PATTERN = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;
/**
 * At a subgraph: the router names each fetch `<operation>__<subgraph>__<index>`, so a 64-character
 * client operation name arrives a little longer.
 */
export const SUBGRAPH_OPERATION_LABEL_PATTERN = /^[_A-Za-z][_0-9A-Za-z]{0,95}$/;
/** What clients may send in `apollographql-client-name`. */
export const CLIENT_LABEL_PATTERN = /^[\w.-]{1,40}$/;
export const MAX_OPERATION_LABELS = 300;
export const MAX_CLIENT_LABELS = 30;
/**
 * Distinct (operation, client) pairs: without it 300 × 30 pairs, each a histogram of a dozen
 * lines, could still make a scrape of tens of MB.
 */
export const MAX_OPERATION_CLIENT_PAIRS = 1_000;
/** The bucket for valid values seen after the label is full. */
export const OTHER_LABEL = '__other';

export interface LabelBoundOptions {
  pattern: RegExp;
  /** Distinct admitted values, beside the fixed `missing`, `invalid` and `other` buckets. */
  max: number;
  /** For an absent value (`null`, `undefined`, `''`). */
  missing: string;
  /** For a value that is not a string or does not match `pattern`. */
  invalid: string;
  other?: string;
}

export interface LabelBound {
  /** The label value to record for `value`. */
  (value: unknown): string;
  /** Admits known values ahead of first-come ones, while there is room; returns how many fit. */
  admit(values: Iterable<string>): number;
  readonly size: number;
}

export function boundedLabel({ pattern, max, missing, invalid, other = OTHER_LABEL }: LabelBoundOptions): LabelBound {
  const admitted = new Set<string>();
  const tryAdmit = (value: string): boolean => {
    if (admitted.has(value)) return true;
    if (admitted.size >= max) return false;
    admitted.add(value);
    return true;
  };
  const label = (value: unknown): string => {
    if (value === null || value === undefined || value === '') return missing;
    if (typeof value !== 'string' || !pattern.test(value)) return invalid;
    return tryAdmit(value) ? value : other;
  };
  label.admit = (values: Iterable<string>) => {
    let count = 0;
    for (const value of values) if (pattern.test(value) && tryAdmit(value)) count++;
    return count;
  };
  Object.defineProperty(label, 'size', { get: () => admitted.size });
  return label as LabelBound;
}

/** Operation names: absent reads `anonymous`, not a GraphQL name (or over 64 characters, by default) `__invalid`. */
export function operationLabel(max = MAX_OPERATION_LABELS, pattern = OPERATION_LABEL_PATTERN): LabelBound {
  return boundedLabel({ pattern, max, missing: 'anonymous', invalid: '__invalid' });
}

/** Client names: absent or malformed reads `unknown`, as the router names such clients. */
export function clientLabel(max = MAX_CLIENT_LABELS): LabelBound {
  return boundedLabel({ pattern: CLIENT_LABEL_PATTERN, max, missing: 'unknown', invalid: 'unknown' });
}

export interface OperationClientLabels {
  operation: LabelBound;
  client: LabelBound;
  /**
   * Both labels of a series labelled by operation and client: each bounded as above, and past
   * `pairs` distinct pairs a new pair keeps its operation with the client `__other`.
   */
  pair(operation: unknown, client: unknown): { operation: string; client: string };
}

export function operationClientLabels({
  operations = MAX_OPERATION_LABELS,
  clients = MAX_CLIENT_LABELS,
  pairs = MAX_OPERATION_CLIENT_PAIRS,
}: {
  operations?: number;
  clients?: number;
  pairs?: number;
} = {}): OperationClientLabels {
  const operation = operationLabel(operations);
  const client = clientLabel(clients);
  const seen = new Set<string>();
  return {
    operation,
    client,
    pair(rawOperation, rawClient) {
      const labels = { operation: operation(rawOperation), client: client(rawClient) };
      // Both parts are short label values by now, so a key is at most ~110 characters.
      const key = `${labels.operation}\n${labels.client}`;
      if (seen.has(key)) return labels;
      if (seen.size < pairs) {
        seen.add(key);
        return labels;
      }
      return { operation: labels.operation, client: OTHER_LABEL };
    },
  };
}
