-- Search reads (issue 17): the GIN index answers every search, so it must stay cheap to scan.

-- With fastupdate (the default) new entries go to a pending list that every search reads in full
-- until a VACUUM merges it; the seed's 40,000 rows left about 200 pages there, which made up most
-- of the index's share of a search, and where autovacuum is off (or slow) nothing merges it. A
-- product write now updates the index in place: slower writes, which are rare next to searches.
ALTER INDEX products.product_search_idx SET (fastupdate = off);
-- What an existing database already holds in its pending list is merged now.
SELECT gin_clean_pending_list('products.product_search_idx'::regclass);
-- An existing database seeded without statistics gets them (the seed now gathers them itself).
ANALYZE products.product;
