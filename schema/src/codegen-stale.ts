import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generate } from '@graphql-codegen/cli';
import config from '../../codegen.ts';

export interface GeneratedFile {
  filename: string;
  content: string;
}

/** The generated files whose committed text differs from what codegen produces now. */
export function staleOutputs(outputs: readonly GeneratedFile[], read: (filename: string) => string | undefined): string[] {
  return outputs.filter(({ filename, content }) => read(filename) !== content).map(({ filename }) => filename);
}

/**
 * Runs the root codegen config in memory (resolver types for every subgraph, typed documents and
 * persisted documents for every client app) and lists the committed outputs that are stale.
 */
export async function staleCodegenOutputs(root: URL): Promise<string[]> {
  const previous = process.cwd();
  process.chdir(fileURLToPath(root));
  try {
    const outputs = (await generate({ ...config, silent: true }, false)) as GeneratedFile[];
    return staleOutputs(outputs, (filename) => {
      try {
        return readFileSync(new URL(filename, root), 'utf8');
      } catch {
        return undefined;
      }
    });
  } finally {
    process.chdir(previous);
  }
}
