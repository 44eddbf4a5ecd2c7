-- Back to one decision and one investigation per report: the first child's.
-- Keep in step with migrations/postgres/2026-12-02-000017_per_child_decisions/down.sql.
CREATE TABLE report_decisions_per_report (
    report_id TEXT PRIMARY KEY NOT NULL REFERENCES reports(id),
    decided_at TIMESTAMP NOT NULL,
    decided_by TEXT NOT NULL REFERENCES users(id),
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    late_reason TEXT NOT NULL,
    siblings_note TEXT NOT NULL
);
INSERT INTO report_decisions_per_report
SELECT d.report_id, d.decided_at, d.decided_by, d.decision, d.reason, d.late_reason, d.siblings_note
FROM report_decisions d JOIN report_children c ON c.id = d.child_id
WHERE c.position = (SELECT MIN(f.position) FROM report_children f WHERE f.report_id = d.report_id);
DROP TABLE report_decisions;
ALTER TABLE report_decisions_per_report RENAME TO report_decisions;
CREATE INDEX report_decisions_retention ON report_decisions(decision, decided_at);

CREATE TABLE investigations_per_report (
    id TEXT PRIMARY KEY NOT NULL,
    report_id TEXT NOT NULL UNIQUE REFERENCES reports(id),
    municipality_id TEXT NOT NULL REFERENCES municipalities(id),
    opened_on DATE NOT NULL,
    due_on DATE NOT NULL,
    extended_at TIMESTAMP,
    extended_by TEXT REFERENCES users(id),
    extension_reason TEXT
);
INSERT INTO investigations_per_report
SELECT i.id, i.report_id, i.municipality_id, i.opened_on, i.due_on, i.extended_at,
       i.extended_by, i.extension_reason
FROM investigations i JOIN report_children c ON c.id = i.child_id
WHERE c.position = (SELECT MIN(f.position) FROM report_children f JOIN investigations g
                    ON g.child_id = f.id WHERE f.report_id = i.report_id);
DROP TABLE investigations;
ALTER TABLE investigations_per_report RENAME TO investigations;
CREATE INDEX investigations_municipality ON investigations(municipality_id, due_on);

DELETE FROM report_children WHERE added_at IS NOT NULL;
ALTER TABLE report_children DROP COLUMN added_by;
ALTER TABLE report_children DROP COLUMN added_at;
ALTER TABLE reports DROP COLUMN someone_close;
