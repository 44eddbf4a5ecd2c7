-- Statistics (issue 21 §1): every figure is an SQL aggregate over a municipality's rows in a
-- period. Kept in step with the other database's migration of the same name.
--
-- Reports by municipality and time of receipt, covering the columns the statistics read (kind of
-- reporter, the reporter's account, the safety clock, the categories), so that counting a year of
-- reports reads the index and never the rows with their sealed text.
CREATE INDEX reports_statistics ON reports(municipality_id, received_at, reporter_kind, reporter_user_id, safety_due_at, categories, id);
-- Closed investigations by the time they were closed.
CREATE INDEX investigation_closings_closed_at ON investigation_closings(closed_at);
-- Plans by SIP and follow-up date (follow-ups held by their date).
CREATE INDEX plans_follow_up ON plans(sip_id, follow_up_on);
