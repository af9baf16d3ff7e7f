import { readFileSync } from 'node:fs';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import config from '../../codegen.ts';
import { repoRoot } from '../src/compose.ts';

describe('generated resolver types', () => {
  it('match what `npm run codegen` produces from the current SDLs', async () => {
    const previous = process.cwd();
    process.chdir(new URL('.', repoRoot).pathname);
    try {
      const generated = (await generate({ ...config, silent: true }, false)) as { filename: string; content: string }[];
      // The client apps' outputs come from the same config; clients-manifests.test.ts checks those.
      const outputs = generated.filter(({ filename }) => filename.startsWith('subgraphs/'));
      expect(outputs.map(({ filename }) => filename).sort()).toEqual(
        ['inventory', 'orders', 'pricing', 'products', 'users'].map((s) => `subgraphs/${s}/src/__generated__/resolvers-types.ts`),
      );
      for (const { filename, content } of outputs) {
        const committed = readFileSync(new URL(filename, repoRoot), 'utf8');
        expect(committed, `${filename} is stale: run \`npm run codegen\``).toBe(content);
      }
    } finally {
      process.chdir(previous);
    }
  }, 60_000);
});
