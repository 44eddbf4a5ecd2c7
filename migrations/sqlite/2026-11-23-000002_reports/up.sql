-- Reports of concern, the children and guardians they name, and the investigations they open.
-- Keep in step with migrations/postgres/2026-11-23-000002_reports/up.sql.

CREATE TABLE reports (
    id TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    municipality_id TEXT NOT NULL REFERENCES municipalities(id),
    received_at TIMESTAMP NOT NULL,
    reporter_kind TEXT NOT NULL,
    reporter_user_id TEXT REFERENCES users(id),
    concern TEXT NOT NULL,
    categories TEXT NOT NULL,
    acute_danger BOOLEAN NOT NULL,
    police_informed BOOLEAN NOT NULL,
    interpreter_language TEXT NOT NULL,
    other_agencies TEXT NOT NULL,
    safety_due_at TIMESTAMP NOT NULL,
    decision_due_on DATE NOT NULL
);
CREATE INDEX reports_queue ON reports(municipality_id, safety_due_at);
CREATE INDEX reports_reporter ON reports(reporter_user_id);

-- Who filed it. An anonymous report has no row here: nothing about its sender is stored.
CREATE TABLE report_reporters (
    report_id TEXT PRIMARY KEY NOT NULL REFERENCES reports(id),
    name TEXT NOT NULL,
    title TEXT NOT NULL,
    organisation TEXT NOT NULL,
    phone TEXT NOT NULL,
    email TEXT NOT NULL
);

-- The intake officer's records: the safety assessment and the decision, one of each per report.
CREATE TABLE safety_assessments (
    report_id TEXT PRIMARY KEY NOT NULL REFERENCES reports(id),
    assessed_at TIMESTAMP NOT NULL,
    assessed_by TEXT NOT NULL REFERENCES users(id),
    protection_needed BOOLEAN NOT NULL,
    notes TEXT NOT NULL
);

CREATE TABLE report_decisions (
    report_id TEXT PRIMARY KEY NOT NULL REFERENCES reports(id),
    decided_at TIMESTAMP NOT NULL,
    decided_by TEXT NOT NULL REFERENCES users(id),
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    late_reason TEXT NOT NULL,
    siblings_note TEXT NOT NULL
);

CREATE TABLE report_children (
    id TEXT PRIMARY KEY NOT NULL,
    report_id TEXT NOT NULL REFERENCES reports(id),
    position INTEGER NOT NULL,
    personal_number TEXT,
    name TEXT NOT NULL,
    birth_date DATE,
    address TEXT NOT NULL,
    school TEXT NOT NULL,
    child_told BOOLEAN NOT NULL,
    not_told_reason TEXT NOT NULL
);
CREATE INDEX report_children_report ON report_children(report_id);
CREATE INDEX report_children_personal_number ON report_children(personal_number);

CREATE TABLE report_guardians (
    id TEXT PRIMARY KEY NOT NULL,
    report_id TEXT NOT NULL REFERENCES reports(id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    guardian_told BOOLEAN NOT NULL,
    not_told_reason TEXT NOT NULL
);
CREATE INDEX report_guardians_report ON report_guardians(report_id);

CREATE TABLE investigations (
    id TEXT PRIMARY KEY NOT NULL,
    report_id TEXT NOT NULL UNIQUE REFERENCES reports(id),
    municipality_id TEXT NOT NULL REFERENCES municipalities(id),
    opened_on DATE NOT NULL,
    due_on DATE NOT NULL,
    extended_at TIMESTAMP,
    extended_by TEXT REFERENCES users(id),
    extension_reason TEXT
);
CREATE INDEX investigations_municipality ON investigations(municipality_id, due_on);
