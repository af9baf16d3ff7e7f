/** Domain models the repository returns; codegen maps the GraphQL types onto them. */
export interface ProductModel {
  n: number;
  id: string;
  sku: string;
  name: string;
  description: string;
  brand: string;
  categoryId: string;
  weightGrams: number;
  imageUrl: string;
  /** When an admin discontinued it; null while it is on sale. */
  discontinuedAt: Date | null;
}

export interface CategoryModel {
  id: string;
  slug: string;
  name: string;
}

/** A validated product to create (validation.ts). */
export interface NewProduct {
  sku: string;
  name: string;
  description: string;
  brand: string;
  categoryId: string;
  weightGrams: number;
  imageUrl: string;
}

/** The fields an edit may set; absent ones keep their value. */
export type ProductChanges = Partial<Omit<NewProduct, 'sku'>>;

/** The editable fields, in the order the `changed` list of product.updated names them. */
export const EDITABLE_FIELDS = [
  'name',
  'description',
  'brand',
  'categoryId',
  'imageUrl',
  'weightGrams',
] as const satisfies readonly (keyof ProductChanges)[];
