/**
 * The schema check behind `npm run schema:check`, as pure functions over strings so tests can
 * feed it fixtures: compose the subgraphs, diff the API schema against a base, validate every
 * registered client operation against the new API schema, and report stale generated files.
 * check-cli.ts does the I/O (git, files) and the exit codes.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { CriticalityLevel, diff, type Change } from '@graphql-inspector/core';
import {
  buildSchema,
  getNamedType,
  GraphQLEnumType,
  GraphQLInputObjectType,
  isEnumType,
  isInputObjectType,
  parse,
  TypeInfo,
  typeFromAST,
  validate,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import { compose, type CompositionError, type SubgraphSdl } from './compose.ts';

/** One operation from a client's Apollo persisted query manifest. */
export interface ClientOperation {
  client: string;
  id: string;
  name: string;
  type: string;
  body: string;
}

/** What `readClientManifests` found: the operations and any manifest that is malformed or stale. */
export interface ClientManifests {
  operations: ClientOperation[];
  problems: string[];
}

export interface SchemaChange {
  type: string;
  message: string;
  /** Schema coordinate, e.g. `Product.imageUrl`, `Query.product.id`, `Region.ME`. */
  path: string | null;
}

export interface BrokenOperation {
  client: string;
  operation: string;
  message: string;
  /** The breaking changes (schema coordinates) this operation depends on. */
  changes: string[];
}

/**
 * The `--json` output. `ok` is false when composition failed, a registered operation is broken or
 * a generated file is stale; `unusedBreaking` (breaking changes no registered operation uses)
 * only warns.
 */
export interface CheckReport {
  ok: boolean;
  composition: { ok: boolean; errors: CompositionError[] };
  changes: { breaking: SchemaChange[]; dangerous: SchemaChange[]; safe: SchemaChange[] };
  brokenOperations: BrokenOperation[];
  unusedBreaking: SchemaChange[];
  stale: string[];
  /** How many registered operations were validated, per client. */
  operations: Record<string, number>;
}

export interface CheckInput {
  subgraphs: SubgraphSdl[];
  /** The API schema SDL to compare against (e.g. schema/api-schema.graphql at HEAD). */
  baseApiSchemaSdl: string;
  clients: ClientManifests;
  /** The committed generated files; omitted to skip the staleness check. */
  committed?: { supergraphSdl: string; apiSchemaSdl: string } | undefined;
}

export const MANIFEST_PATH = '__generated__/persisted-query-manifest.json';

/**
 * Reads `<dir>/<app>/__generated__/persisted-query-manifest.json` for every app folder. A missing
 * directory or an app without a manifest is zero operations, not an error: the check must run
 * before any client has generated one. A malformed manifest, or one whose ids are not the sha256
 * of their bodies (hand-edited or stale), is a problem the check fails on.
 */
export function readClientManifests(dir: URL): ClientManifests {
  const result: ClientManifests = { operations: [], problems: [] };
  if (!existsSync(dir)) return result;
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory()) continue;
    const client = entry.name;
    const file = new URL(`${client}/${MANIFEST_PATH}`, dir);
    if (!existsSync(file)) continue;
    const label = `clients/${client}/${MANIFEST_PATH}`;
    let manifest: unknown;
    try {
      manifest = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      result.problems.push(`${label}: not valid JSON (${(error as Error).message})`);
      continue;
    }
    const m = manifest as { format?: unknown; version?: unknown; operations?: unknown };
    if (m.format !== 'apollo-persisted-query-manifest' || m.version !== 1 || !Array.isArray(m.operations)) {
      result.problems.push(`${label}: not an apollo-persisted-query-manifest version 1`);
      continue;
    }
    for (const op of m.operations as Partial<ClientOperation>[]) {
      if (typeof op.body !== 'string' || typeof op.name !== 'string' || typeof op.id !== 'string') {
        result.problems.push(`${label}: an operation lacks id, name or body`);
        continue;
      }
      if (createHash('sha256').update(op.body).digest('hex') !== op.id) {
        result.problems.push(`${label}: ${op.name} id is not the sha256 of its body; run \`npm run codegen\``);
      }
      result.operations.push({ client, id: op.id, name: op.name, type: String(op.type ?? 'query'), body: op.body });
    }
  }
  return result;
}

/** Runs every step; never throws on bad schemas or operations (they are findings, not crashes). */
export async function runCheck(input: CheckInput): Promise<CheckReport> {
  const report: CheckReport = {
    ok: true,
    composition: { ok: true, errors: [] },
    changes: { breaking: [], dangerous: [], safe: [] },
    brokenOperations: [],
    unusedBreaking: [],
    stale: [...input.clients.problems],
    operations: {},
  };
  for (const op of input.clients.operations) report.operations[op.client] = (report.operations[op.client] ?? 0) + 1;

  const outcome = compose(input.subgraphs);
  if (!outcome.ok) {
    report.ok = false;
    report.composition = { ok: false, errors: outcome.errors };
    return report;
  }

  if (input.committed) {
    if (input.committed.supergraphSdl !== outcome.supergraphSdl) report.stale.push('schema/supergraph.graphql');
    if (input.committed.apiSchemaSdl !== outcome.apiSchemaSdl) report.stale.push('schema/api-schema.graphql');
  }

  const oldSchema = buildSchema(input.baseApiSchemaSdl);
  const newSchema = buildSchema(outcome.apiSchemaSdl);
  for (const change of await diff(oldSchema, newSchema)) {
    const entry = toSchemaChange(change);
    if (change.criticality.level === CriticalityLevel.Breaking) report.changes.breaking.push(entry);
    else if (change.criticality.level === CriticalityLevel.Dangerous) report.changes.dangerous.push(entry);
    else report.changes.safe.push(entry);
  }

  const usedBreaking = new Set<string>();
  for (const op of input.clients.operations) {
    let document: DocumentNode;
    try {
      document = parse(op.body);
    } catch (error) {
      report.brokenOperations.push({ client: op.client, operation: op.name, message: (error as Error).message, changes: [] });
      continue;
    }
    // Coordinates are collected against the OLD schema: that is the one the operation was written
    // for, and a removed field no longer exists in the new one.
    const used = usedCoordinates(oldSchema, document);
    const hits = report.changes.breaking.filter((c) => c.path !== null && affects(c, used));
    for (const hit of hits) usedBreaking.add(hit.path!);
    const changes = hits.map((c) => c.path!);
    const errors = validate(newSchema, document);
    if (errors.length) {
      for (const error of errors) report.brokenOperations.push({ client: op.client, operation: op.name, message: error.message, changes });
    } else {
      // Valid but still broken at runtime: e.g. String! → Int, a field made nullable, or an enum
      // value removed that the app may send.
      for (const hit of hits) {
        report.brokenOperations.push({
          client: op.client,
          operation: op.name,
          message: `uses ${hit.path}: ${hit.message}`,
          changes: [hit.path!],
        });
      }
    }
  }
  report.unusedBreaking = report.changes.breaking.filter((c) => c.path === null || !usedBreaking.has(c.path));
  report.ok = report.brokenOperations.length === 0 && report.stale.length === 0;
  return report;
}

function toSchemaChange(change: Change): SchemaChange {
  return { type: String(change.type), message: change.message, path: change.path ?? null };
}

/**
 * A change at `Type` affects every `Type.field…` the operation uses; `Type.field` its arguments.
 * A breaking addition (a required argument or input field) sits at a coordinate no existing
 * operation uses, so it affects the operations that use its parent.
 */
function affects(change: SchemaChange, used: Set<string>): boolean {
  const path =
    change.type.endsWith('_ADDED') && change.path!.includes('.') ? change.path!.slice(0, change.path!.lastIndexOf('.')) : change.path!;
  if (used.has(path)) return true;
  for (const coordinate of used) if (coordinate.startsWith(`${path}.`)) return true;
  return false;
}

/**
 * Schema coordinates an operation depends on: selected fields (`Type.field`), arguments
 * (`Type.field.arg`), enum values and input fields written as literals, and for each variable
 * every input field and enum value its type can carry (the app may send any of them).
 */
export function usedCoordinates(schema: GraphQLSchema, document: DocumentNode): Set<string> {
  const used = new Set<string>();
  const typeInfo = new TypeInfo(schema);
  const addInput = (type: GraphQLInputType | undefined, seen = new Set<string>()) => {
    const named = type && getNamedType(type);
    if (!named || seen.has(named.name)) return;
    seen.add(named.name);
    used.add(named.name);
    if (named instanceof GraphQLEnumType) for (const value of named.getValues()) used.add(`${named.name}.${value.name}`);
    if (named instanceof GraphQLInputObjectType) {
      for (const field of Object.values(named.getFields())) {
        used.add(`${named.name}.${field.name}`);
        addInput(field.type, seen);
      }
    }
  };
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (parent && field) used.add(`${parent.name}.${field.name}`);
      },
      Argument() {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        const arg = typeInfo.getArgument();
        if (parent && field && arg) used.add(`${parent.name}.${field.name}.${arg.name}`);
      },
      ObjectField(node) {
        const parent = typeInfo.getParentInputType();
        const named = parent && getNamedType(parent);
        if (named && isInputObjectType(named)) used.add(`${named.name}.${node.name.value}`);
      },
      EnumValue(node) {
        const type = typeInfo.getInputType();
        const named = type && getNamedType(type);
        if (named && isEnumType(named)) used.add(`${named.name}.${node.value}`);
      },
      VariableDefinition(node) {
        addInput(typeFromAST(schema, node.type) as GraphQLInputType | undefined);
      },
      NamedType(node) {
        // Type conditions and variable types depend on the type existing at all.
        if (schema.getType(node.name.value)) used.add(node.name.value);
      },
    }),
  );
  return used;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function locationText(error: CompositionError): string {
  const locations = error.locations ?? [];
  return locations.length ? ` (${locations.map((l) => `${l.subgraph}:${l.line}:${l.column}`).join(', ')})` : '';
}

/** Plain-text summary for a terminal or CI log. */
export function formatHuman(report: CheckReport): string {
  const lines: string[] = [];
  if (!report.composition.ok) {
    lines.push(`✖ Composition failed with ${plural(report.composition.errors.length, 'error')}:`);
    for (const e of report.composition.errors) lines.push(`  ✖ ${e.code ? `${e.code}: ` : ''}${e.message}${locationText(e)}`);
  } else {
    lines.push('✔ The five subgraphs compose');
    const { breaking, dangerous, safe } = report.changes;
    lines.push(
      `${breaking.length ? '⚠' : '✔'} API schema changes: ${breaking.length} breaking, ${dangerous.length} dangerous, ${safe.length} safe`,
    );
    for (const c of breaking) lines.push(`  ✖ breaking  ${c.message}`);
    for (const c of dangerous) lines.push(`  ⚠ dangerous ${c.message}`);
    for (const c of safe) lines.push(`  ✔ safe      ${c.message}`);
    const counts = Object.entries(report.operations).map(([client, n]) => `${client} ${n}`);
    const total = Object.values(report.operations).reduce((a, b) => a + b, 0);
    if (report.brokenOperations.length) {
      lines.push(
        `✖ ${plural(report.brokenOperations.length, 'problem')} in registered client operations (${plural(total, 'operation')} checked):`,
      );
      for (const b of report.brokenOperations) lines.push(`  ✖ ${b.client} ${b.operation}: ${b.message}`);
    } else {
      lines.push(`✔ ${plural(total, 'registered operation')} valid${counts.length ? ` (${counts.join(', ')})` : ''}`);
    }
    for (const c of report.unusedBreaking) lines.push(`⚠ Breaking change no registered operation uses: ${c.message}`);
  }
  if (report.stale.length) {
    lines.push('✖ Stale generated files (run `npm run compose` / `npm run codegen` and commit):');
    for (const s of report.stale) lines.push(`  ✖ ${s}`);
  }
  const warnings = report.unusedBreaking.length;
  lines.push(report.ok ? `schema check passed${warnings ? ` with ${plural(warnings, 'warning')}` : ''}` : 'schema check FAILED');
  return `${lines.join('\n')}\n`;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Markdown for a pull-request comment. */
export function formatMarkdown(report: CheckReport): string {
  const out: string[] = [
    `## Schema check: ${report.ok ? (report.unusedBreaking.length ? '⚠ passed with warnings' : '✔ passed') : '✖ failed'}`,
    '',
  ];
  if (!report.composition.ok) {
    out.push('### ✖ Composition failed', '', '| Code | Error | Where |', '| --- | --- | --- |');
    for (const e of report.composition.errors) {
      out.push(
        `| ${cell(e.code ?? '')} | ${cell(e.message)} | ` +
          `${cell((e.locations ?? []).map((l) => `\`${l.subgraph}:${l.line}:${l.column}\``).join(', '))} |`,
      );
    }
    out.push('');
  } else {
    const { breaking, dangerous, safe } = report.changes;
    out.push(`### API schema changes (${breaking.length} breaking, ${dangerous.length} dangerous, ${safe.length} safe)`, '');
    if (breaking.length + dangerous.length + safe.length === 0) out.push('No changes.', '');
    else {
      out.push('| Kind | Change | Coordinate |', '| --- | --- | --- |');
      const row = (kind: string, c: SchemaChange) => out.push(`| ${kind} | ${cell(c.message)} | ${c.path ? `\`${c.path}\`` : ''} |`);
      for (const c of breaking) row('✖ breaking', c);
      for (const c of dangerous) row('⚠ dangerous', c);
      for (const c of safe) row('✔ safe', c);
      out.push('');
    }
    const total = Object.values(report.operations).reduce((a, b) => a + b, 0);
    out.push(`### Registered client operations (${total} checked)`, '');
    if (report.brokenOperations.length) {
      out.push('| Client | Operation | Problem |', '| --- | --- | --- |');
      for (const b of report.brokenOperations) out.push(`| ${cell(b.client)} | \`${cell(b.operation)}\` | ${cell(b.message)} |`);
    } else out.push('✔ All registered operations are valid against the new schema.');
    out.push('');
    if (report.unusedBreaking.length) {
      out.push('### ⚠ Breaking changes no registered operation uses', '');
      for (const c of report.unusedBreaking) out.push(`- ${c.message}`);
      out.push('');
    }
  }
  if (report.stale.length) {
    out.push('### ✖ Stale generated files', '');
    for (const s of report.stale) out.push(`- ${s}`);
    out.push('');
  }
  return out.join('\n');
}
