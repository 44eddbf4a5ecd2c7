-- Information requests (begäran om uppgifter): within an open investigation a caseworker asks
-- named users of a partner organisation for what they know; each receiver reads only the
-- requests addressed to them, and answers with text or declines with a reason. The questions,
-- the reply (answer or reason) is sealed at rest (src/information_requests/store.rs).
-- Keep in step with migrations/sqlite/2026-12-02-000034_information_requests/up.sql.
CREATE TABLE information_requests (
    id TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    investigation_id TEXT NOT NULL REFERENCES investigations(id) ON DELETE CASCADE,
    municipality_id TEXT NOT NULL REFERENCES municipalities(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    sent_by TEXT NOT NULL REFERENCES users(id),
    sent_at TIMESTAMP NOT NULL,
    due_on DATE NOT NULL,
    questions TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    first_read_at TIMESTAMP,
    -- The reply: an answer, or (declined) the reason for not answering.
    replied_at TIMESTAMP,
    replied_by TEXT REFERENCES users(id),
    reply TEXT,
    declined BOOLEAN NOT NULL DEFAULT FALSE,
    reminded_at TIMESTAMP
);
CREATE INDEX information_requests_investigation ON information_requests(investigation_id, sent_at);
CREATE INDEX information_requests_due ON information_requests(due_on);

-- The named users a request is addressed to (all of its organisation).
CREATE TABLE information_request_recipients (
    request_id TEXT NOT NULL REFERENCES information_requests(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (request_id, user_id)
);
CREATE INDEX information_request_recipients_user ON information_request_recipients(user_id);
