/** The selling regions (the GraphQL `Region` enum), each with exactly one currency. */
export const REGIONS = ['IN', 'SEA', 'ME', 'US'] as const;
export type RegionCode = (typeof REGIONS)[number];

export type CurrencyCode = 'INR' | 'SGD' | 'AED' | 'USD';
export const CURRENCY: Readonly<Record<RegionCode, CurrencyCode>> = { IN: 'INR', SEA: 'SGD', ME: 'AED', US: 'USD' };

/** The region → currency mapping as an SQL CASE on `column`, for statements that derive a currency in the database. */
export function currencyCaseSql(column: string): string {
  return `CASE ${column} ${REGIONS.map((region) => `WHEN '${region}' THEN '${CURRENCY[region]}'`).join(' ')} END`;
}
