-- Each child in a report is a case of its own (issue 18 §1, §3, §4): the decision and the
-- investigation with its clock belong to a child (a `report_children` row), not to the report.
-- Existing data migrates: a report's one decision becomes each of its children's, and its
-- investigation each child's (the first child keeps the investigation's id, so audit entries
-- about it still find it; a sibling's copy gets the id `<id>-<position>`). Sealed values are
-- copied within the same table and column, so they still open (a sealed value is bound to its
-- table and column).
-- Keep in step with migrations/sqlite/2026-12-02-000017_per_child_decisions/up.sql (same
-- columns in the same order).

-- For the categories that ask it (violence in the home, sexual abuse, honour-related violence):
-- whether the suspected person is someone close to the child, as `category:answer` pairs
-- (`yes`, `no`, `unknown`) joined by commas. Empty for reports filed before the question.
ALTER TABLE reports ADD COLUMN someone_close TEXT NOT NULL DEFAULT '';

-- A sibling the officer added to the report (not named by the reporter).
ALTER TABLE report_children ADD COLUMN added_at TIMESTAMP;
ALTER TABLE report_children ADD COLUMN added_by TEXT REFERENCES users(id);

-- Investigations per child; closed_at and outcome make room for closing one (a later issue).
-- extended_at, extended_by, extension_reason: the one extension recorded before each
-- extension got its own row (investigation_extensions); never written since.
CREATE TABLE investigations_per_child (
    id TEXT PRIMARY KEY NOT NULL,
    report_id TEXT NOT NULL REFERENCES reports(id),
    municipality_id TEXT NOT NULL REFERENCES municipalities(id),
    opened_on DATE NOT NULL,
    due_on DATE NOT NULL,
    extended_at TIMESTAMP,
    extended_by TEXT REFERENCES users(id),
    extension_reason TEXT,
    child_id TEXT NOT NULL UNIQUE REFERENCES report_children(id),
    closed_at TIMESTAMP,
    outcome TEXT
);
INSERT INTO investigations_per_child (id, report_id, municipality_id, opened_on, due_on,
    extended_at, extended_by, extension_reason, child_id)
SELECT CASE WHEN c.position = (SELECT MIN(f.position) FROM report_children f
                               WHERE f.report_id = i.report_id)
            THEN i.id ELSE i.id || '-' || c.position END,
       i.report_id, i.municipality_id, i.opened_on, i.due_on,
       i.extended_at, i.extended_by, i.extension_reason, c.id
FROM investigations i JOIN report_children c ON c.report_id = i.report_id;
DROP TABLE investigations;
ALTER TABLE investigations_per_child RENAME TO investigations;
CREATE INDEX investigations_municipality ON investigations(municipality_id, due_on);
CREATE INDEX investigations_report ON investigations(report_id);

-- Decisions per child. `joined_investigation_id`: for "join", the investigation under way that
-- the report was joined to.
CREATE TABLE report_decisions_per_child (
    child_id TEXT PRIMARY KEY NOT NULL REFERENCES report_children(id),
    report_id TEXT NOT NULL REFERENCES reports(id),
    decided_at TIMESTAMP NOT NULL,
    decided_by TEXT NOT NULL REFERENCES users(id),
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    late_reason TEXT NOT NULL,
    siblings_note TEXT NOT NULL,
    joined_investigation_id TEXT REFERENCES investigations(id)
);
INSERT INTO report_decisions_per_child (child_id, report_id, decided_at, decided_by, decision,
    reason, late_reason, siblings_note)
SELECT c.id, d.report_id, d.decided_at, d.decided_by, d.decision, d.reason, d.late_reason,
       d.siblings_note
FROM report_decisions d JOIN report_children c ON c.report_id = d.report_id;
DROP TABLE report_decisions;
ALTER TABLE report_decisions_per_child RENAME TO report_decisions;
CREATE INDEX report_decisions_report ON report_decisions(report_id);
CREATE INDEX report_decisions_retention ON report_decisions(decision, decided_at);
