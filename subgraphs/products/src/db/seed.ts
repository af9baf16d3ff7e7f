import { progress, type Database, type SeedSize } from '@shop/subgraph-kit';

const DEPARTMENTS = [
  'Electronics',
  'Home',
  'Kitchen',
  'Garden',
  'Sports',
  'Toys',
  'Books',
  'Beauty',
  'Fashion',
  'Grocery',
  'Automotive',
  'Office',
  'Music',
  'Pets',
  'Health',
];
const LINES = ['Essentials', 'Pro', 'Outdoor', 'Kids', 'Premium', 'Travel', 'Classic', 'Smart'];
const BRANDS = [
  'Acme',
  'Northwind',
  'Contoso',
  'Globex',
  'Initech',
  'Umbrella',
  'Stark',
  'Wayne',
  'Tyrell',
  'Cyberdyne',
  'Hooli',
  'Vandelay',
  'Soylent',
  'Wonka',
  'Gringotts',
  'Oscorp',
  'Monarch',
  'Aperture',
  'Massive',
  'Pied Piper',
  'Dunder',
  'Sterling',
  'Prestige',
  'Zorg',
  'Bluth',
];
const ADJECTIVES = [
  'Compact',
  'Deluxe',
  'Rugged',
  'Slim',
  'Ergonomic',
  'Wireless',
  'Portable',
  'Classic',
  'Modern',
  'Vintage',
  'Heavy-duty',
  'Lightweight',
  'Organic',
  'Insulated',
  'Foldable',
];
const MATERIALS = ['steel', 'bamboo', 'cotton', 'ceramic', 'leather', 'aluminium', 'oak', 'glass', 'silicone', 'wool', 'carbon', 'linen'];
const NOUNS = [
  'chair',
  'lamp',
  'kettle',
  'backpack',
  'headphones',
  'bottle',
  'jacket',
  'speaker',
  'notebook',
  'blender',
  'tent',
  'watch',
  'mug',
  'keyboard',
  'pan',
  'sneakers',
  'desk',
  'camera',
  'scarf',
  'drone',
];

const sqlArray = (values: string[]) => `ARRAY[${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',')}]`;

/**
 * Deterministic catalog: every run produces the same ids, names and categories, generated inside
 * the database with generate_series so 40,000 rows take about a second even on PGlite.
 * Skipped when the catalog is already there.
 */
export async function seed(db: Database, size: SeedSize): Promise<boolean> {
  const [existing] = await db.query<{ count: number }>('SELECT count(*)::int AS count FROM products.product');
  if ((existing?.count ?? 0) > 0) return false;
  progress('products', `seeding ${size.categories} categories and ${size.products.toLocaleString('en')} products`);
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO products.category (id, slug, name)
       SELECT 'c' || i,
              lower(replace(d || '-' || l, ' ', '-')),
              d || ' ' || l
       FROM generate_series(1, $1::int) AS i,
            LATERAL (SELECT (${sqlArray(DEPARTMENTS)})[1 + (i - 1) % ${DEPARTMENTS.length}] AS d,
                            (${sqlArray(LINES)})[1 + ((i - 1) / ${DEPARTMENTS.length}) % ${LINES.length}] AS l) AS names`,
      [size.categories],
    );
    await tx.query(
      `INSERT INTO products.product (n, id, sku, name, description, brand, category_id, weight_grams, image_url)
       SELECT i, 'p' || i, 'SKU-' || lpad(i::text, 6, '0'),
              b || ' ' || a || ' ' || m || ' ' || nn,
              'A ' || lower(a) || ' ' || nn || ' made of ' || m || ' by ' || b || '. Model ' || i || '.',
              b,
              'c' || (1 + (i - 1) % $2::int),
              100 + (i * 7919) % 19900,
              'https://img.shop.example/products/p' || i || '.jpg'
       FROM generate_series(1, $1::int) AS i,
            LATERAL (SELECT (${sqlArray(BRANDS)})[1 + (i * 7) % ${BRANDS.length}] AS b,
                            (${sqlArray(ADJECTIVES)})[1 + (i * 3) % ${ADJECTIVES.length}] AS a,
                            (${sqlArray(MATERIALS)})[1 + (i * 11) % ${MATERIALS.length}] AS m,
                            (${sqlArray(NOUNS)})[1 + (i * 13) % ${NOUNS.length}] AS nn) AS words`,
      [size.products, size.categories],
    );
  });
  progress('products', 'done');
  return true;
}
