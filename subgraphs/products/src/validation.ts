import { badInput } from '@shop/platform';
import type { CreateProductInput, UpdateProductInput } from './__generated__/resolvers-types.ts';
import { EDITABLE_FIELDS, type NewProduct, type ProductChanges } from './models.ts';

export const MAX_NAME_LENGTH = 200;
export const MAX_DESCRIPTION_LENGTH = 5000;
export const MAX_BRAND_LENGTH = 100;
export const MIN_WEIGHT_GRAMS = 1;
export const MAX_WEIGHT_GRAMS = 1_000_000;
export const MAX_IMAGE_URL_LENGTH = 2048;
export const MIN_SKU_LENGTH = 3;
export const MAX_SKU_LENGTH = 40;
const MAX_CATEGORY_ID_LENGTH = 64;

/**
 * Upper-case letters and digits in groups joined by single hyphens ("SKU-000042", "ACME-KETTLE-2"):
 * what warehouses print on labels and scanners read back. Lower case is refused rather than
 * folded, because `product(sku:)` matches exactly and a client would not find what it created.
 */
const SKU_SHAPE = /^[A-Z0-9]+(?:-[A-Z0-9]+)*$/;

// Control characters (NUL included, which Postgres cannot store in text) except, in a description,
// the line breaks and tabs of a paragraph.
const CONTROL = /\p{Cc}/u;
const CONTROL_IN_TEXT = /[^\P{Cc}\n\r\t]/u;

/** Characters as people count them (code points), not UTF-16 units. */
const length = (text: string) => [...text].length;

function text(value: string, field: string, { min, max, multiline = false }: { min: number; max: number; multiline?: boolean }): string {
  const trimmed = value.trim();
  const n = length(trimmed);
  if (n < min || n > max)
    throw badInput(min > 0 ? `${field} must be ${min} to ${max} characters` : `${field} must be at most ${max} characters`, { field });
  if ((multiline ? CONTROL_IN_TEXT : CONTROL).test(trimmed)) throw badInput(`${field} must not contain control characters`, { field });
  return trimmed;
}

export function validateSku(value: string): string {
  const sku = value.trim();
  if (sku.length < MIN_SKU_LENGTH || sku.length > MAX_SKU_LENGTH || !SKU_SHAPE.test(sku)) {
    throw badInput(
      `sku must be ${MIN_SKU_LENGTH} to ${MAX_SKU_LENGTH} upper-case letters and digits, in groups joined by single hyphens (e.g. "ACME-KETTLE-2")`,
      { field: 'sku' },
    );
  }
  return sku;
}

function weight(value: number): number {
  if (!Number.isInteger(value) || value < MIN_WEIGHT_GRAMS || value > MAX_WEIGHT_GRAMS) {
    throw badInput(`weightGrams must be a whole number from ${MIN_WEIGHT_GRAMS} to ${MAX_WEIGHT_GRAMS}`, { field: 'weightGrams' });
  }
  return value;
}

/** An absolute https URL with a host, at most MAX_IMAGE_URL_LENGTH characters, kept as given (trimmed). */
function imageUrl(value: string): string {
  const url = value.trim();
  if (url.length > MAX_IMAGE_URL_LENGTH)
    throw badInput(`imageUrl must be at most ${MAX_IMAGE_URL_LENGTH} characters`, { field: 'imageUrl' });
  let parsed: URL | undefined;
  try {
    parsed = /\s|\p{Cc}/u.test(url) ? undefined : new URL(url);
  } catch {
    parsed = undefined;
  }
  // Shoppers' browsers load it: plain http would be mixed content, and other schemes (javascript:,
  // data:) are not images we serve. Credentials in the URL would be shown to every shopper.
  if (parsed?.protocol !== 'https:' || !parsed.hostname || parsed.username || parsed.password) {
    throw badInput('imageUrl must be an absolute https:// URL', { field: 'imageUrl' });
  }
  return url;
}

function categoryId(value: string): string {
  const id = value.trim();
  // Existence is checked against the database in the write; this only bounds what reaches it.
  if (!id || id.length > MAX_CATEGORY_ID_LENGTH || CONTROL.test(id))
    throw badInput(`No category "${id.slice(0, 64)}"`, { field: 'categoryId' });
  return id;
}

const FIELD_RULES: { [F in keyof ProductChanges]-?: (value: NonNullable<ProductChanges[F]>) => NonNullable<ProductChanges[F]> } = {
  name: (v) => text(v, 'name', { min: 1, max: MAX_NAME_LENGTH }),
  description: (v) => text(v, 'description', { min: 0, max: MAX_DESCRIPTION_LENGTH, multiline: true }),
  brand: (v) => text(v, 'brand', { min: 1, max: MAX_BRAND_LENGTH }),
  categoryId,
  imageUrl,
  weightGrams: weight,
};

/** Throws BAD_USER_INPUT naming the first field that is wrong (`extensions.field`). */
export function validateNewProduct(input: CreateProductInput): NewProduct {
  return {
    sku: validateSku(input.sku),
    name: FIELD_RULES.name(input.name),
    description: FIELD_RULES.description(input.description ?? ''),
    brand: FIELD_RULES.brand(input.brand),
    categoryId: FIELD_RULES.categoryId(input.categoryId),
    imageUrl: FIELD_RULES.imageUrl(input.imageUrl),
    weightGrams: FIELD_RULES.weightGrams(input.weightGrams),
  };
}

/**
 * The fields an edit sets, validated. Omitted fields keep their value; an explicit null is refused
 * (no field can be cleared: every one is required), and so is an edit that sets nothing.
 */
export function validateChanges(input: UpdateProductInput): ProductChanges {
  const changes: Record<string, unknown> = {};
  for (const field of EDITABLE_FIELDS) {
    const value = input[field];
    if (value === undefined) continue;
    if (value === null) throw badInput(`${field} cannot be null: leave it out to keep its value`, { field });
    // Each rule takes and returns its own field's type; the loop cannot say so to the compiler.
    changes[field] = (FIELD_RULES[field] as (v: typeof value) => typeof value)(value);
  }
  if (Object.keys(changes).length === 0) {
    throw badInput(`Give at least one field to change (${EDITABLE_FIELDS.join(', ')})`, { argument: 'input' });
  }
  return changes as ProductChanges;
}
