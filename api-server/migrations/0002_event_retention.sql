-- Events are kept for MPT_EVENTS_RETENTION_HOURS; the highest id pruned so far tells a
-- client resuming from an older id that it missed events and must re-read.
CREATE TABLE event_horizon (
    id BIGINT PRIMARY KEY,
    pruned_through BIGINT NOT NULL
);
INSERT INTO event_horizon (id, pruned_through) VALUES (1, 0);
