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
}

export interface CategoryModel {
  id: string;
  slug: string;
  name: string;
}
