-- Consultations (konsultation): a professional asks social services about a worry without naming
-- the child; intake officers of the municipality answer; the professional may turn it into a
-- report, whose id is kept here. The situation, the unit and the answer are sealed at rest
-- (src/consultations/store.rs). Removed by retention after SAMORDNA_CONSULTATION_MONTHS.
-- Keep in step with migrations/postgres/2026-12-02-000025_consultations/up.sql.
CREATE TABLE consultations (
    id TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    municipality_id TEXT NOT NULL REFERENCES municipalities(id),
    asked_by TEXT NOT NULL REFERENCES users(id),
    asked_at TIMESTAMP NOT NULL,
    situation TEXT NOT NULL,
    child_age INTEGER NOT NULL,
    unit TEXT NOT NULL,
    answer TEXT,
    should_report BOOLEAN,
    answered_at TIMESTAMP,
    answered_by TEXT REFERENCES users(id),
    report_id TEXT REFERENCES reports(id) ON DELETE SET NULL,
    converted_at TIMESTAMP
);
CREATE INDEX consultations_municipality ON consultations(municipality_id, asked_at);
CREATE INDEX consultations_asked_by ON consultations(asked_by, asked_at);
CREATE INDEX consultations_asked_at ON consultations(asked_at);
