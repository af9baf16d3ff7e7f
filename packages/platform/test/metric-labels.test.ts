import { describe, expect, it } from 'vitest';
import {
  clientLabel,
  MAX_CLIENT_LABELS,
  MAX_OPERATION_LABELS,
  OTHER_LABEL,
  operationClientLabels,
  operationLabel,
} from '../src/metric-labels.ts';

describe('operationLabel', () => {
  it('keeps valid names, reads absent ones as anonymous and anything else as __invalid', () => {
    const label = operationLabel();
    expect(label('ShelfPrices')).toBe('ShelfPrices');
    expect(label('web__products__0')).toBe('web__products__0');
    expect(label(undefined)).toBe('anonymous');
    expect(label(null)).toBe('anonymous');
    expect(label('')).toBe('anonymous');
    expect(label(`N${'x'.repeat(64)}`)).toBe('__invalid'); // 65 characters
    expect(label('1Query')).toBe('__invalid');
    expect(label('has space')).toBe('__invalid');
    expect(label({ toString: () => 'Obj' })).toBe('__invalid');
    expect(label.size).toBe(2);
  });

  it('admits at most max distinct values; later new ones read as __other, admitted ones stay', () => {
    const label = operationLabel(3);
    expect(['A', 'B', 'C', 'D', 'E'].map(label)).toEqual(['A', 'B', 'C', OTHER_LABEL, OTHER_LABEL]);
    expect(label('B')).toBe('B');
    expect(label.size).toBe(3);
  });

  it('admits known values first while there is room, skipping invalid ones', () => {
    const label = operationLabel(2);
    expect(label.admit(['Known', 'not valid', 'Other', 'Third'])).toBe(2);
    expect(label('Known')).toBe('Known');
    expect(label('Other')).toBe('Other');
    expect(label('Third')).toBe(OTHER_LABEL);
  });

  it('holds at most MAX_OPERATION_LABELS names by default', () => {
    const label = operationLabel();
    for (let i = 0; i < 10 * MAX_OPERATION_LABELS; i++) label(`Op${i}`);
    expect(label.size).toBe(MAX_OPERATION_LABELS);
    expect(label(`Op${MAX_OPERATION_LABELS}`)).toBe(OTHER_LABEL);
  });
});

describe('clientLabel', () => {
  it('keeps client names of the header pattern up to MAX_CLIENT_LABELS, and unknown for the rest', () => {
    const label = clientLabel();
    expect(label('web-app.v2')).toBe('web-app.v2');
    expect(label(undefined)).toBe('unknown');
    expect(label('x'.repeat(41))).toBe('unknown');
    for (let i = 0; i < 100; i++) label(`client${i}`);
    expect(label.size).toBe(MAX_CLIENT_LABELS);
    expect(label('client99')).toBe(OTHER_LABEL);
  });
});

describe('operationClientLabels', () => {
  it('bounds the pairs: past the bound a new pair keeps its operation with the client __other', () => {
    const labels = operationClientLabels({ operations: 10, clients: 10, pairs: 4 });
    expect(labels.pair('A', 'web')).toEqual({ operation: 'A', client: 'web' });
    for (const operation of ['B', 'C', 'D']) labels.pair(operation, 'web');
    expect(labels.pair('A', 'ios')).toEqual({ operation: 'A', client: OTHER_LABEL });
    expect(labels.pair('D', 'web')).toEqual({ operation: 'D', client: 'web' });
    expect(labels.pair(`N${'x'.repeat(100)}`, 'x'.repeat(100))).toEqual({ operation: '__invalid', client: OTHER_LABEL });
  });
});
