/**
 * `npm run compose`: composes the five subgraph SDLs and writes the committed
 * schema/supergraph.graphql and schema/api-schema.graphql.
 *
 *   --check            write nothing; exit 1 when the committed files are stale
 *   --subgraphs <dir>  read <dir>/<name>/src/schema.graphql instead of subgraphs/
 *   --out <dir>        write the two files to <dir> instead of schema/
 *
 * Exit codes: 0 composed (or up to date), 1 composition failed or files stale, 2 bad arguments.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { API_SCHEMA_FILE, compose, readSubgraphSdls, SUPERGRAPH_FILE } from './compose.ts';

let args;
try {
  args = parseArgs({ options: { check: { type: 'boolean' }, subgraphs: { type: 'string' }, out: { type: 'string' } } }).values;
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
const dirUrl = (dir: string) => pathToFileURL(`${resolve(dir)}/`);
const sdls = readSubgraphSdls(args.subgraphs ? dirUrl(args.subgraphs) : undefined);
const outcome = compose(sdls);
if (!outcome.ok) {
  console.error(`Composition failed with ${outcome.errors.length} error(s):`);
  for (const error of outcome.errors) console.error(`  ✖ ${error.code ? `${error.code}: ` : ''}${error.message}`);
  process.exit(1);
}
const out = args.out ? dirUrl(args.out) : undefined;
const files: [URL, string][] = [
  [out ? new URL('supergraph.graphql', out) : SUPERGRAPH_FILE, outcome.supergraphSdl],
  [out ? new URL('api-schema.graphql', out) : API_SCHEMA_FILE, outcome.apiSchemaSdl],
];
const read = (file: URL) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};
const stale = files.filter(([file, text]) => read(file) !== text).map(([file]) => fileURLToPath(file));
if (args.check) {
  if (stale.length) {
    console.error(`Stale composed schema: ${stale.join(', ')}. Run \`npm run compose\` and commit the result.`);
    process.exit(1);
  }
  console.log('Composed schema is up to date.');
} else {
  for (const [file, text] of files) writeFileSync(file, text);
  console.log(
    `Composed ${sdls.length} subgraphs → ${files.map(([f]) => fileURLToPath(f)).join(', ')}${stale.length ? '' : ' (unchanged)'}`,
  );
}
