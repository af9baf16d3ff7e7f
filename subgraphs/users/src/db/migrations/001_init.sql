-- Accounts that sign up get ids from this sequence, far above the seeded u0..u1000, so the two never collide.
CREATE SEQUENCE users.account_id_seq START WITH 1000001;

CREATE TABLE users.account (
  id text PRIMARY KEY DEFAULT 'u' || nextval('users.account_id_seq'),
  -- Stored normalized (trimmed, lower case) so the unique constraint is case-insensitive.
  email text NOT NULL CHECK (email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 254),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  region text NOT NULL CHECK (region IN ('IN', 'SEA', 'ME', 'US')),
  password_hash text NOT NULL,
  scopes text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT account_email_key UNIQUE (email)
);
