import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { clientApps } from '../../codegen.ts';

/**
 * Apollo persisted query manifests, built from the client preset's `persisted-documents.json`.
 * The preset already prints each operation with the fragments it uses and hashes that text; the
 * manifest adds what the router and the schema check need per operation (name and type), in the
 * format Apollo's tooling reads, so a mobile build can send only the id.
 */

/** Subscriptions too: the router serves them over graphql-ws and SSE, and safelists them like the rest. */
export type OperationType = 'query' | 'mutation' | 'subscription';

export interface ManifestOperation {
  /** sha256 of `body`, lowercase hex: what Apollo clients send as `extensions.persistedQuery.sha256Hash`. */
  id: string;
  name: string;
  type: OperationType;
  /** The exact document text the client sends, fragment definitions included. */
  body: string;
}

export interface PersistedQueryManifest {
  format: 'apollo-persisted-query-manifest';
  version: 1;
  operations: ManifestOperation[];
}

export const clientsRoot = new URL('../', import.meta.url);

/** `clients/<app>/__generated__/<file>`, relative to the repository root (as codegen names its outputs). */
export function generatedPath(app: string, file: string): string {
  return `clients/${app}/__generated__/${file}`;
}

export const persistedDocumentsFile = 'persisted-documents.json';
export const manifestFile = 'persisted-query-manifest.json';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The preset writes `sha256:<hex>` (the GraphQL-over-HTTP document id); Apollo wants the bare hex. */
const presetKeyPrefix = 'sha256:';

/**
 * Turns the preset's `{ "sha256:<hex>": body }` into a manifest. Throws when a key does not hash
 * its body (the preset was configured with another algorithm) or an app ships two operations under
 * one name: the router and the check report operations by name, so names must identify them.
 */
export function buildManifest(app: string, persistedDocuments: Record<string, string>): PersistedQueryManifest {
  const operations: ManifestOperation[] = [];
  const byName = new Map<string, string>();
  for (const [key, body] of Object.entries(persistedDocuments)) {
    const id = key.startsWith(presetKeyPrefix) ? key.slice(presetKeyPrefix.length) : key;
    if (id !== sha256Hex(body)) {
      throw new Error(`${app}: persisted document ${key} is not the sha256 of its body (is hashAlgorithm 'sha256'?)`);
    }
    const operation = soleOperation(app, body);
    const name = operation.name?.value;
    if (!name) throw new Error(`${app}: an operation has no name; every shipped operation needs one:\n${body}`);
    const clash = byName.get(name);
    if (clash !== undefined && clash !== id) throw new Error(`${app}: two operations are named ${name}`);
    if (clash === undefined) operations.push({ id, name, type: operation.operation, body });
    byName.set(name, id);
  }
  // Sorted so the file does not change when codegen happens to load the documents in another order.
  operations.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { format: 'apollo-persisted-query-manifest', version: 1, operations };
}

function soleOperation(app: string, body: string): OperationDefinitionNode {
  const operations = parse(body).definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const [operation] = operations;
  if (operations.length !== 1 || !operation) {
    throw new Error(`${app}: a persisted document must hold exactly one operation, found ${operations.length}:\n${body}`);
  }
  return operation;
}

/** Stable text: fixed key order (as built), two-space indent, trailing newline. */
export function renderManifest(manifest: PersistedQueryManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** The manifest text for an app from the text of its `persisted-documents.json`. */
export function manifestFromPersistedDocuments(app: string, persistedDocumentsJson: string): string {
  return renderManifest(buildManifest(app, JSON.parse(persistedDocumentsJson) as Record<string, string>));
}

/** Run after `graphql-codegen` (see the root `codegen` script): writes every app's manifest. */
export function writeManifests(repoRoot: URL): void {
  for (const app of clientApps) {
    const source = readFileSync(new URL(generatedPath(app, persistedDocumentsFile), repoRoot), 'utf8');
    const target = new URL(generatedPath(app, manifestFile), repoRoot);
    writeFileSync(target, manifestFromPersistedDocuments(app, source));
    console.log(`wrote ${fileURLToPath(target)}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeManifests(new URL('../', clientsRoot));
}
