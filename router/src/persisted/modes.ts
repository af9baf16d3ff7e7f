/**
 * What a client may send:
 * - `safelist`: only operations in its own manifest (by id, or a document byte-identical to a
 *   manifest body); anything else is refused with PERSISTED_QUERY_NOT_IN_LIST;
 * - `log_unknown`: anything runs, operations outside its manifest are logged and counted;
 * - `allow`: anything runs.
 */
export const SAFELIST_MODES = ['safelist', 'log_unknown', 'allow'] as const;
export type SafelistMode = (typeof SAFELIST_MODES)[number];

/** Modes by client name (`apollographql-client-name`); `*` is every other client, including one that sends none. */
export type SafelistModes = Readonly<Record<string, SafelistMode>> & { readonly '*': SafelistMode };

export function modeFor(modes: SafelistModes, client: string): SafelistMode {
  return Object.hasOwn(modes, client) ? modes[client]! : modes['*'];
}
