/**
 * `npm run schema:check`: checks the working tree's subgraph schemas before they merge.
 *
 *   1. composes the five subgraphs (errors name the subgraph, line and column);
 *   2. diffs the new API schema against the base one: breaking / dangerous / safe;
 *   3. validates every operation in clients/<app>/__generated__/persisted-query-manifest.json against
 *      the new API schema: a change that breaks a shipped operation fails and names the client,
 *      operation and field; a breaking change no registered operation uses only warns;
 *   4. fails when schema/supergraph.graphql or schema/api-schema.graphql is not what composition
 *      produces, when codegen output (subgraph resolver types, client typed and persisted
 *      documents) is not what `npm run codegen` produces, or a manifest's ids are not the sha256
 *      of its bodies.
 *
 *   --base <git ref>     compare against schema/api-schema.graphql at this ref (default HEAD)
 *   --base-file <path>   compare against this API schema file instead of git
 *   --subgraphs <dir>    read <dir>/<name>/src/schema.graphql instead of subgraphs/
 *   --clients <dir>      read <dir>/<app>/__generated__/persisted-query-manifest.json instead of clients/
 *   --skip-stale         skip step 4 (for fixture subgraphs, which never match the committed files)
 *   --json               print the report as JSON (the CheckReport type in check.ts)
 *   --markdown           print the report as Markdown, for a pull-request comment
 *
 * Exit codes:
 *   0  passed (breaking changes that no registered operation uses are warnings only)
 *   1  check failed: composition error, broken registered operation, or stale generated files
 *   2  could not run: bad arguments, git failure, unreadable subgraph schema or base schema
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { formatHuman, formatMarkdown, readClientManifests, runCheck, type CheckInput } from './check.ts';
import { staleCodegenOutputs } from './codegen-stale.ts';
import { API_SCHEMA_FILE, readSubgraphSdls, repoRoot, SUPERGRAPH_FILE } from './compose.ts';

function cannotRun(message: string): never {
  console.error(`schema:check could not run: ${message}`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      base: { type: 'string' },
      'base-file': { type: 'string' },
      subgraphs: { type: 'string' },
      clients: { type: 'string' },
      'skip-stale': { type: 'boolean' },
      json: { type: 'boolean' },
      markdown: { type: 'boolean' },
    },
  }).values;
} catch (error) {
  cannotRun((error as Error).message);
}
if (args.base && args['base-file']) cannotRun('--base and --base-file are exclusive');
if (args.json && args.markdown) cannotRun('--json and --markdown are exclusive');

const dirUrl = (dir: string) => pathToFileURL(`${resolve(dir)}/`);
const readText = (file: URL) => {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    cannotRun((error as Error).message);
  }
};

let input: CheckInput;
try {
  const ref = args.base ?? 'HEAD';
  const baseApiSchemaSdl = args['base-file']
    ? readText(pathToFileURL(resolve(args['base-file'])))
    : (() => {
        try {
          return execFileSync('git', ['show', `${ref}:schema/api-schema.graphql`], {
            cwd: fileURLToPath(repoRoot),
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe'],
          });
        } catch (error) {
          const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
          cannotRun(`git show ${ref}:schema/api-schema.graphql failed${stderr ? `: ${stderr}` : ''}`);
        }
      })();
  let subgraphs;
  try {
    subgraphs = readSubgraphSdls(args.subgraphs ? dirUrl(args.subgraphs) : undefined);
  } catch (error) {
    cannotRun((error as Error).message);
  }
  input = {
    subgraphs,
    baseApiSchemaSdl,
    clients: readClientManifests(args.clients ? dirUrl(args.clients) : new URL('clients/', repoRoot)),
    committed: args['skip-stale'] ? undefined : { supergraphSdl: readText(SUPERGRAPH_FILE), apiSchemaSdl: readText(API_SCHEMA_FILE) },
  };
} catch (error) {
  cannotRun((error as Error).message);
}

let report;
try {
  report = await runCheck(input);
} catch (error) {
  // Only an unparsable base schema gets here; findings about the new schema are in the report.
  cannotRun((error as Error).message);
}
if (!args['skip-stale']) {
  // Codegen output (resolver types, client typed and persisted documents) must match the SDLs and operations.
  try {
    const stale = await staleCodegenOutputs(repoRoot);
    for (const file of stale) report.stale.push(`${file} (run \`npm run codegen\`)`);
    if (stale.length) report.ok = false;
  } catch (error) {
    cannotRun(`codegen could not run: ${(error as Error).message}`);
  }
}
if (args.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
else if (args.markdown) process.stdout.write(formatMarkdown(report));
else process.stdout.write(formatHuman(report));
process.exit(report.ok ? 0 : 1);
