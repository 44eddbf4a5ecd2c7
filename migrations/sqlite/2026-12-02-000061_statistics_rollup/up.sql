-- Statistics (issue 21 §1) as a monthly roll-up: the counts the statistics would otherwise take
-- from scanning a period's reports, per municipality and month of receipt (UTC, as stored). Kept
-- by the flows that change them, in the same transaction (filing, safety assessment, each child's
-- decision, retention's removal): see src/statistics/store/rollup.rs. Counts only: no report,
-- child or person is named. Kept in step with the other database's migration of the same name.

-- Reports received, by kind of reporter (a professional's organisation kind, 'annan' without an
-- account; or 'private'/'anonymous') and by the report's set of categories as stored.
CREATE TABLE statistics_received (
    municipality_id TEXT NOT NULL REFERENCES municipalities(id),
    month TEXT NOT NULL,
    reporter_key TEXT NOT NULL,
    categories TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (municipality_id, month, reporter_key, categories)
);

-- Safety assessments made, and made by their deadline, by month of receipt.
CREATE TABLE statistics_safety (
    municipality_id TEXT NOT NULL REFERENCES municipalities(id),
    month TEXT NOT NULL,
    assessed BIGINT NOT NULL,
    in_time BIGINT NOT NULL,
    PRIMARY KEY (municipality_id, month)
);

-- Each child's decision by month of receipt: whole days from receipt to it, what was decided.
CREATE TABLE statistics_decisions (
    municipality_id TEXT NOT NULL REFERENCES municipalities(id),
    month TEXT NOT NULL,
    days BIGINT NOT NULL,
    decision TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (municipality_id, month, days, decision)
);

INSERT INTO statistics_received (municipality_id, month, reporter_key, categories, n)
SELECT r.municipality_id, strftime('%Y-%m', r.received_at),
       CASE WHEN r.reporter_kind = 'professional' THEN COALESCE(o.kind, 'annan') ELSE r.reporter_kind END,
       r.categories, COUNT(*)
FROM reports r LEFT JOIN users u ON u.id = r.reporter_user_id
LEFT JOIN organisations o ON o.id = u.organisation_id
GROUP BY 1, 2, 3, 4;

INSERT INTO statistics_safety (municipality_id, month, assessed, in_time)
SELECT r.municipality_id, strftime('%Y-%m', r.received_at), COUNT(*),
       SUM(CASE WHEN s.assessed_at <= r.safety_due_at THEN 1 ELSE 0 END)
FROM reports r JOIN safety_assessments s ON s.report_id = r.id
GROUP BY 1, 2;

INSERT INTO statistics_decisions (municipality_id, month, days, decision, n)
SELECT r.municipality_id, strftime('%Y-%m', r.received_at),
       CAST(julianday(date(d.decided_at)) - julianday(date(r.received_at)) AS INTEGER),
       d.decision, COUNT(*)
FROM reports r JOIN report_decisions d ON d.report_id = r.id
GROUP BY 1, 2, 3, 4;
