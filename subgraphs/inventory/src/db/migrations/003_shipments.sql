-- A reservation whose order shipped (the order.shipped consumer): its units left the warehouse,
-- so `reserved` went down and the reservation can no longer be released. HELD is the only status
-- that moves: HELD -> RELEASED (checkout failed, order cancelled) or HELD -> SHIPPED.
ALTER TABLE inventory.reservation DROP CONSTRAINT reservation_status_check;
ALTER TABLE inventory.reservation ADD CONSTRAINT reservation_status_check CHECK (status IN ('HELD', 'RELEASED', 'SHIPPED'));
ALTER TABLE inventory.reservation ADD COLUMN shipped_at timestamptz
