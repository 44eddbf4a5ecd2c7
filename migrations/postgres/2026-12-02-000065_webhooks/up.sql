-- Webhooks (issue 21 §2): endpoints an admin registers for the municipality's case system, and
-- the deliveries queued for them in the same transaction as the change they tell of (like the mail
-- outbox). The signing secret is sealed; the payload holds only the event type, ids and times.
-- Keep in step with migrations/sqlite/2026-12-02-000065_webhooks/up.sql.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY NOT NULL,
    municipality_id TEXT NOT NULL REFERENCES municipalities(id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    removed_at TIMESTAMP
);
CREATE INDEX webhook_endpoints_municipality ON webhook_endpoints(municipality_id);
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id),
    municipality_id TEXT NOT NULL REFERENCES municipalities(id),
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    last_error TEXT,
    delivered_at TIMESTAMP
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_municipality ON webhook_deliveries(municipality_id, created_at);
