/**
 * `npm run compose`: composes the five subgraph SDLs and writes the committed
 * schema/supergraph.graphql and schema/api-schema.graphql. Exit 1 with the errors on failure.
 * `--check` writes nothing and exits 1 when the committed files are stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { API_SCHEMA_FILE, compose, readSubgraphSdls, SUPERGRAPH_FILE } from './compose.ts';

const check = process.argv.includes('--check');
const outcome = compose(readSubgraphSdls());
if (!outcome.ok) {
  console.error(`Composition failed with ${outcome.errors.length} error(s):`);
  for (const error of outcome.errors) console.error(`  ✖ ${error.code ? `${error.code}: ` : ''}${error.message}`);
  process.exit(1);
}
const files: [URL, string][] = [
  [SUPERGRAPH_FILE, outcome.supergraphSdl],
  [API_SCHEMA_FILE, outcome.apiSchemaSdl],
];
const read = (file: URL) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};
const stale = files.filter(([file, text]) => read(file) !== text).map(([file]) => fileURLToPath(file));
if (check) {
  if (stale.length) {
    console.error(`Stale composed schema: ${stale.join(', ')}. Run \`npm run compose\` and commit the result.`);
    process.exit(1);
  }
  console.log('Composed schema is up to date.');
} else {
  for (const [file, text] of files) writeFileSync(file, text);
  console.log(`Composed ${readSubgraphSdls().length} subgraphs → schema/supergraph.graphql, schema/api-schema.graphql${stale.length ? '' : ' (unchanged)'}`);
}
