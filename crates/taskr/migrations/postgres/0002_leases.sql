-- Named leases: who (a Taskr instance's random holder id) may do something exclusive, until
-- when (unix ms). `inbox:<workspace>` guards a workspace's inbox claims, `sync:<workspace>` its
-- backfill, `reconciler` the periodic pass. An expired lease is free; taking one is a single
-- upsert whose condition is "expired or already mine".
CREATE TABLE leases (
    name     TEXT   PRIMARY KEY,
    holder   TEXT   NOT NULL,
    until_ms BIGINT NOT NULL
);
CREATE INDEX leases_holder ON leases (holder);

-- Which instance holds an inbox row's lease (`lease_until_ms`), so that only that instance
-- may complete or put back the row, and a stopping instance can give its rows up at once.
ALTER TABLE inbox ADD COLUMN lease_holder TEXT;
