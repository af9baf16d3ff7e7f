import { describe, expect, it } from 'vitest';
import { staleOutputs } from '../src/codegen-stale.ts';

describe('schema:check codegen staleness', () => {
  it('lists generated files that are missing or differ from what codegen produces', () => {
    const committed: Record<string, string> = { 'a.ts': 'same', 'b.ts': 'old' };
    const outputs = [
      { filename: 'a.ts', content: 'same' },
      { filename: 'b.ts', content: 'new' },
      { filename: 'c.ts', content: 'added' },
    ];
    expect(staleOutputs(outputs, (f) => committed[f])).toEqual(['b.ts', 'c.ts']);
  });
});
