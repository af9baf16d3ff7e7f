-- Every change is an event (issue 14). A promotion starts and ends by the clock as well as by an
-- admin, so the background ticker (promotion-ticker.ts) announces it when its time passes. These
-- columns say the announcement was made: each is set in the same transaction that queues the event
-- (or that decided there is none to make), so each promotion starts and ends once on the stream
-- however many ticks or replicas look at it.
ALTER TABLE pricing.promotion
  ADD COLUMN started_event_at timestamptz,
  ADD COLUMN ended_event_at timestamptz;

-- What had already started or ended when this migration ran is the state the shop is in, not news.
UPDATE pricing.promotion SET started_event_at = now() WHERE starts_at <= now();
UPDATE pricing.promotion SET ended_event_at = now() WHERE ends_at <= now();

-- The ticker's two questions: which starts and which ends are due and not yet announced.
CREATE INDEX promotion_start_due_idx ON pricing.promotion (starts_at) WHERE started_event_at IS NULL;
CREATE INDEX promotion_end_due_idx ON pricing.promotion (ends_at) WHERE ended_event_at IS NULL;

-- Products the catalogue discontinued, filled by the product.discontinued consumer: pricing
-- quotes no price for them, so checkout refuses them. Kept apart from list_price so that an admin
-- re-pricing a product cannot bring it back on sale.
CREATE TABLE pricing.discontinued_product (
  product_id text PRIMARY KEY,
  discontinued_at timestamptz NOT NULL,
  -- The event that told us, for tracing a refusal back to its cause.
  event_id uuid NOT NULL
);
