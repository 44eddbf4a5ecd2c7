//! The intake queue page: the officers' list of new reports with their clocks.

use super::*;
use crate::time::{self, local_text};

/// A clock as shown in the queue and on a report.
pub struct Clock {
    pub due: String,
    pub urgency: Urgency,
}

pub struct QueueRow {
    pub item: QueueItem,
    /// The safety assessment clock, while it runs.
    pub safety: Option<Clock>,
    pub decision: Clock,
}

#[derive(Template, WebTemplate)]
#[template(path = "reports/intake.html")]
pub(super) struct IntakePage {
    layout: Layout,
    rows: Vec<QueueRow>,
    total: i64,
    overdue: i64,
    due_today: i64,
    /// The first line shown (0 for the most urgent), and where the next page starts, if any.
    offset: i64,
    next: Option<i64>,
}

impl IntakePage {
    fn first_shown(&self) -> i64 {
        self.offset + 1
    }
    fn last_shown(&self) -> i64 {
        self.offset + self.rows.len() as i64
    }
}

pub(super) fn decision_clock(due_on: chrono::NaiveDate, today: chrono::NaiveDate) -> Clock {
    Clock {
        due: due_on.format("%Y-%m-%d").to_string(),
        urgency: deadlines::urgency(due_on, today),
    }
}

pub(super) fn safety_clock(due_at: NaiveDateTime, now: NaiveDateTime) -> Clock {
    Clock {
        due: local_text(&due_at),
        urgency: deadlines::urgency_at(due_at, now),
    }
}

#[derive(Deserialize)]
pub(super) struct IntakeQuery {
    /// How many of the most urgent to skip: the queue is shown a page at a time.
    #[serde(default, rename = "fran")]
    from: Option<String>,
}

pub(super) async fn get_intake(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    query: web::Query<IntakeQuery>,
) -> Result<impl Responder, PageError> {
    let page = QueuePage::from(
        query
            .from
            .as_deref()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0),
    );
    let queue = state
        .db_with_settings(move |conn, settings| {
            reports::intake_queue_for(conn, &settings.keys, &actor, page)
        })
        .await?;
    let now = crate::db::now();
    let today = time::local(now).date();
    let rows: Vec<QueueRow> = queue
        .items
        .into_iter()
        .map(|item| QueueRow {
            safety: (!item.safety_assessed).then(|| safety_clock(item.report.safety_due_at, now)),
            decision: decision_clock(item.report.decision_due_on, today),
            item,
        })
        .collect();
    let end = page.offset + rows.len() as i64;
    Ok(IntakePage {
        layout: Layout::new(&req, Some(user)),
        total: queue.total,
        overdue: queue.overdue,
        due_today: queue.due_today,
        offset: page.offset,
        next: (end < queue.total).then_some(end),
        rows,
    })
}
