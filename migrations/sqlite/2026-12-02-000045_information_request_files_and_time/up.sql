-- Information requests, continued: the files of an answer, asking for more time, and the journal
-- entry an answer or a refusal is filed as. A file's name and content are sealed at rest; the
-- content is kept as base64 of the bytes, sealed (src/information_requests/store/files.rs).
-- Keep in step with migrations/postgres/2026-12-02-000045_information_request_files_and_time/up.sql.
CREATE TABLE information_request_files (
    id TEXT PRIMARY KEY NOT NULL,
    request_id TEXT NOT NULL REFERENCES information_requests(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- Checked by content: application/pdf, image/png, image/jpeg, Word (.docx or .doc).
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    content TEXT NOT NULL,
    uploaded_by TEXT NOT NULL REFERENCES users(id),
    uploaded_at TIMESTAMP NOT NULL
);
CREATE INDEX information_request_files_request ON information_request_files(request_id);

-- A receiver's request for more time, with a reason and a wished date; the caseworker may grant
-- a new due date (then the request's due_on moves and its reminder is sent again before it).
CREATE TABLE information_request_extensions (
    id TEXT PRIMARY KEY NOT NULL,
    request_id TEXT NOT NULL REFERENCES information_requests(id) ON DELETE CASCADE,
    asked_by TEXT NOT NULL REFERENCES users(id),
    asked_at TIMESTAMP NOT NULL,
    reason TEXT NOT NULL,
    wished_on DATE,
    granted_by TEXT REFERENCES users(id),
    granted_at TIMESTAMP,
    granted_on DATE
);
CREATE INDEX information_request_extensions_request ON information_request_extensions(request_id, asked_at);

-- The signed journal entry the answer or the refusal was filed as (one per request).
CREATE TABLE information_request_filings (
    request_id TEXT PRIMARY KEY NOT NULL REFERENCES information_requests(id) ON DELETE CASCADE,
    journal_entry_id TEXT NOT NULL REFERENCES journal_entries(id) ON DELETE CASCADE
);
CREATE INDEX information_request_filings_entry ON information_request_filings(journal_entry_id);
