-- Ids for promotions created through the API. The seed writes promo1..promo24 itself; starting far
-- above them leaves room for a larger seed without the two ever colliding.
CREATE SEQUENCE pricing.promotion_id_seq START WITH 1000;

ALTER TABLE pricing.promotion ALTER COLUMN id SET DEFAULT 'promo' || nextval('pricing.promotion_id_seq');
