-- The dispositions a tenant's agents choose from after each call (empty: the phone's
-- default list).
ALTER TABLE tenants ADD COLUMN dispositions TEXT NOT NULL DEFAULT '[]';
