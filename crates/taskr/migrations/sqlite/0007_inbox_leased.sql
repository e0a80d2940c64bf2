-- The inbox rows leased right now, found without reading the whole backlog: a claim skips
-- every workspace that has one (one claim per workspace at a time), and with tens of
-- thousands of pending rows a scan per candidate row made each claim take seconds.
CREATE INDEX inbox_leased ON inbox (lease_until_ms, workspace_id)
    WHERE status = 'pending' AND lease_until_ms IS NOT NULL;
