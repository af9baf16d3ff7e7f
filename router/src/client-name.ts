/** The header clients name themselves in (also one of the CSRF-proof headers, see server.ts). */
export const CLIENT_NAME_HEADER = 'apollographql-client-name';

/** The client's name for metrics, manifests and keys: `unknown` unless it is a short plain name. */
export function clientName(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && /^[\w.-]{1,40}$/.test(value) ? value : 'unknown';
}
