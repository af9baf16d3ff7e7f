import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { parse, printSchema, Source } from 'graphql';
import { localUrl, SUBGRAPHS as REGISTRY } from '@shop/registry';

/** The subgraphs in the order they appear in the supergraph, with their default local URLs (the registry's). */
export const SUBGRAPHS = REGISTRY.map(({ name }) => ({ name, url: localUrl(name) }));

export const repoRoot = new URL('../../', import.meta.url);
export const SUPERGRAPH_FILE = new URL('schema/supergraph.graphql', repoRoot);
export const API_SCHEMA_FILE = new URL('schema/api-schema.graphql', repoRoot);

export interface SubgraphSdl {
  name: string;
  url: string;
  sdl: string;
}

/** Reads `<dir>/<name>/src/schema.graphql` for every subgraph (default: the repo's subgraphs/). */
export function readSubgraphSdls(dir: URL = new URL('subgraphs/', repoRoot)): SubgraphSdl[] {
  return SUBGRAPHS.map(({ name, url }) => ({
    name,
    url,
    sdl: readFileSync(new URL(`${name}/src/schema.graphql`, dir), 'utf8'),
  }));
}

/** Where a composition error points: the subgraph's schema.graphql and a 1-based line and column. */
export interface ErrorLocation {
  subgraph: string;
  line: number;
  column: number;
}

export interface CompositionError {
  message: string;
  code?: string | undefined;
  locations?: ErrorLocation[];
}

export type CompositionOutcome =
  | { ok: true; supergraphSdl: string; apiSchemaSdl: string; hints: string[] }
  | { ok: false; errors: CompositionError[] };

/** Composes subgraph SDLs in memory (also used by tests that need a supergraph of their own). */
export function compose(subgraphs: SubgraphSdl[]): CompositionOutcome {
  const parsed: { name: string; url: string; typeDefs: ReturnType<typeof parse> }[] = [];
  const syntaxErrors: CompositionError[] = [];
  for (const s of subgraphs) {
    try {
      // The Source name is the subgraph's, so error locations say which schema.graphql they are in.
      parsed.push({ name: s.name, url: s.url, typeDefs: parse(new Source(s.sdl, s.name)) });
    } catch (error) {
      const { locations } = error as { locations?: readonly { line: number; column: number }[] };
      syntaxErrors.push({
        message: `[${s.name}] ${(error as Error).message}`,
        code: 'INVALID_GRAPHQL',
        locations: (locations ?? []).map(({ line, column }) => ({ subgraph: s.name, line, column })),
      });
    }
  }
  if (syntaxErrors.length) return { ok: false, errors: syntaxErrors };
  const result = composeServices(parsed);
  if (result.errors) {
    return {
      ok: false,
      errors: result.errors.map((e) => ({
        message: e.message,
        code: e.extensions?.code as string | undefined,
        locations: (e.nodes ?? []).flatMap((node) => {
          const loc = node.loc;
          return loc ? [{ subgraph: loc.source.name, line: loc.startToken.line, column: loc.startToken.column }] : [];
        }),
      })),
    };
  }
  return {
    ok: true,
    supergraphSdl: `${result.supergraphSdl.trimEnd()}\n`,
    apiSchemaSdl: `${printSchema(result.schema.toAPISchema().toGraphQLJSSchema())}\n`,
    hints: result.hints.map((h) => h.toString()),
  };
}
