-- Applied by the kit to every subgraph's schema ({{schema}} is replaced by the subgraph's name).
--
-- The outbox: a write's events, committed in the same transaction as the write. The relay puts
-- the rows with published_at NULL on the stream in position order and then sets published_at;
-- a crash between the two publishes them again (the stream drops a repeated id), never loses them.
CREATE TABLE {{schema}}.outbox (
  position bigserial PRIMARY KEY,
  id uuid NOT NULL UNIQUE,
  type text NOT NULL,
  aggregate text NOT NULL,
  aggregate_id text NOT NULL,
  version integer NOT NULL,
  occurred_at timestamptz NOT NULL,
  data jsonb NOT NULL,
  tags jsonb NOT NULL,
  traceparent text,
  published_at timestamptz
);

CREATE INDEX outbox_unpublished_idx ON {{schema}}.outbox (position) WHERE published_at IS NULL;
CREATE INDEX outbox_published_idx ON {{schema}}.outbox (published_at) WHERE published_at IS NOT NULL;

-- Events a durable consumer of this subgraph has applied: the row commits in the same transaction
-- as the event's effect, so a redelivered event finds its row and changes nothing.
CREATE TABLE {{schema}}.processed_events (
  consumer text NOT NULL,
  event_id uuid NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);

CREATE INDEX processed_events_age_idx ON {{schema}}.processed_events (processed_at);
