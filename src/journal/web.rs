//! The chronology page of a child's investigation: journal entries in time order with the case's
//! events, each correction shown beside the entry it corrects. Read-only and without JavaScript;
//! prints as a clean document (the print rules in `static/style.css`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::accounts::identity::{CurrentActor, Layout};
use crate::authz::Action;
use crate::error::PageError;
use crate::journal::model::EntryKind;
use crate::journal::store::{attachments, case_events, Attachment, CaseEvent, Entry, EntryId};
use crate::journal::{entries, investigation_case};
use crate::reports::store::InvestigationId;
use crate::web::{render, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/utredningar/{id}/journal", web::get().to(get_chronology));
}

impl Entry {
    /// The kind in words.
    pub fn kind_label(&self) -> &str {
        self.kind
            .parse::<EntryKind>()
            .map(EntryKind::label)
            .unwrap_or(self.kind.as_str())
    }
}

/// One line of the chronology.
pub enum Row {
    Event(CaseEvent),
    Entry {
        entry: Box<Entry>,
        corrections: Vec<Entry>,
    },
}

impl Row {
    fn at(&self) -> chrono::NaiveDateTime {
        match self {
            Row::Event(e) => e.at,
            Row::Entry { entry, .. } => entry.happened_at,
        }
    }
}

#[derive(Template)]
#[template(path = "journal/chronology.html")]
struct ChronologyPage {
    layout: Layout,
    rows: Vec<Row>,
    /// The files of partners' answers, by the entry they were filed with.
    attachments: Vec<Attachment>,
}

impl ChronologyPage {
    fn attachments_of(&self, entry: &EntryId) -> Vec<&Attachment> {
        self.attachments
            .iter()
            .filter(|a| a.entry_id == entry.as_str())
            .collect()
    }
}

/// Entries (corrections placed beside what they correct) and events, in time order.
pub fn chronology(list: Vec<Entry>, events: Vec<CaseEvent>) -> Vec<Row> {
    let (corrections, originals): (Vec<Entry>, Vec<Entry>) =
        list.into_iter().partition(|e| e.corrects_id.is_some());
    let mut rows: Vec<Row> = events.into_iter().map(Row::Event).collect();
    for entry in originals {
        let beside = corrections
            .iter()
            .filter(|c| c.corrects_id.as_ref() == Some(&entry.id))
            .cloned()
            .collect();
        rows.push(Row::Entry {
            entry: Box::new(entry),
            corrections: beside,
        });
    }
    rows.sort_by_key(Row::at);
    rows
}

async fn get_chronology(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = InvestigationId(path.into_inner());
    let (list, events, files) = state
        .db_with_settings(move |conn, settings| {
            let case = investigation_case(conn, settings, &actor, &id, Action::View)?;
            let list = entries(conn, settings, &actor, &case)?;
            let events = case_events(conn, &case)?;
            let files = attachments(conn, &settings.keys, &case.report_id, &case.child_id)?;
            Ok((list, events, files))
        })
        .await?;
    let page = ChronologyPage {
        layout: Layout::new(&req, Some(user)),
        rows: chronology(list, events),
        attachments: files,
    };
    render(StatusCode::OK, &page)
}
