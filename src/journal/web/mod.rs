//! The journal's pages: the chronology of a child's investigation (`/utredningar/{id}/journal`)
//! and of a child of a report before the decision (`/anmalningar/{id}/barn/{child_id}/journal`):
//! journal entries in time order with the case's events, each correction shown beside the entry
//! it corrects, and the forms to write an entry, sign one's own draft and correct a signed entry.
//! Without JavaScript; prints as a clean document without the forms (the print rules in
//! `static/style.css`). The handlers that act are in [`forms`].

mod forms;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::accounts::identity::{CurrentActor, Layout};
use crate::accounts::AuthUser;
use crate::authz::{Action, Actor};
use crate::config::Settings;
use crate::db::AnyConnection;
use crate::error::{AppError, PageError};
use crate::journal::model::{EntryInput, EntryKind};
use crate::journal::store::{
    self, attachments, case_events, Attachment, Case, CaseEvent, Entry, EntryId,
};
use crate::journal::{entries, investigation_case, investigation_of, may_write, report_case};
use crate::reports::store::{InvestigationId, ReportId};
use crate::web::{render, AppState, FormErrors, Saved, SavedOn, SavedQuery};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/utredningar/{id}/journal",
        web::get().to(get_investigation_journal),
    )
    .route(
        "/utredningar/{id}/journal",
        web::post().to(forms::post_investigation_entry),
    )
    .route(
        "/anmalningar/{id}/barn/{child_id}/journal",
        web::get().to(get_report_journal),
    )
    .route(
        "/anmalningar/{id}/barn/{child_id}/journal",
        web::post().to(forms::post_report_entry),
    )
    .route(
        "/journal/{entry_id}/signera",
        web::post().to(forms::post_sign),
    )
    .route(
        "/journal/{entry_id}/rattelse",
        web::post().to(forms::post_correction),
    );
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

/// Which journal a page shows: a child's investigation's, or a child's of a report (before the
/// decision).
#[derive(Clone, Debug)]
pub(crate) enum Journal {
    Investigation(InvestigationId),
    Report(ReportId, String),
}

impl Journal {
    /// The journal an entry is read in now: its child's investigation's once there is one.
    fn of_entry(conn: &mut AnyConnection, entry: &Entry) -> Result<Journal, AppError> {
        Ok(match investigation_of(conn, &entry.child_id)? {
            Some(investigation) => Journal::Investigation(investigation),
            None => Journal::Report(entry.report_id.clone(), entry.child_id.clone()),
        })
    }

    /// The page's address (its form posts a new entry to the same address).
    fn path(&self) -> String {
        match self {
            Journal::Investigation(id) => format!("/utredningar/{id}/journal"),
            Journal::Report(report, child) => format!("/anmalningar/{report}/barn/{child}/journal"),
        }
    }

    /// The case, after checking `action` on it.
    fn case(
        &self,
        conn: &mut AnyConnection,
        settings: &Settings,
        actor: &Actor,
        action: Action,
    ) -> Result<Case, AppError> {
        match self {
            Journal::Investigation(id) => investigation_case(conn, settings, actor, id, action),
            Journal::Report(report, child) => {
                report_case(conn, settings, actor, report, child, action)
            }
        }
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

#[derive(Template)]
#[template(path = "journal/chronology.html")]
pub(crate) struct ChronologyPage {
    layout: Layout,
    /// The report's reference and which child, for the heading.
    reference: String,
    child: i32,
    /// The report's page.
    back: String,
    /// The investigation, when the page is the investigation's (not the report's before the
    /// decision): for the heading and the link to its information requests.
    investigation: Option<String>,
    rows: Vec<Row>,
    /// The files of partners' answers, by the entry they were filed with.
    attachments: Vec<Attachment>,
    saved: &'static str,
    /// Where a new entry is posted; `None` when the reader may not write.
    write_action: Option<String>,
    /// The investigation is closed: new entries are efteranteckningar.
    closed: bool,
    /// The entry a correction is being written for (`?ratta=`).
    correcting: Option<Entry>,
    form: EntryInput,
    errors: FormErrors,
}

impl ChronologyPage {
    fn kinds(&self) -> Vec<EntryKind> {
        EntryKind::by_hand().collect()
    }

    /// The signed-in reader wrote this draft, so may sign it.
    fn may_sign(&self, entry: &Entry) -> bool {
        entry.signed_at.is_none()
            && self
                .layout
                .user
                .as_ref()
                .is_some_and(|u| u.id == entry.author_id)
    }

    fn attachments_of(&self, entry: &EntryId) -> Vec<&Attachment> {
        self.attachments
            .iter()
            .filter(|a| a.entry_id == entry.as_str())
            .collect()
    }

    /// A signed entry the reader may correct.
    fn may_correct(&self, entry: &Entry) -> bool {
        entry.signed_at.is_some() && self.write_action.is_some()
    }
}

/// The query of a chronology page: the entry to correct, the change just saved.
#[derive(Deserialize)]
pub(crate) struct PageQuery {
    ratta: Option<String>,
    sparat: Option<String>,
}

/// What a page shows besides its form.
struct Loaded {
    case: Case,
    list: Vec<Entry>,
    events: Vec<CaseEvent>,
    /// The files of partners' answers, by the entry they were filed with.
    attachments: Vec<Attachment>,
    writable: bool,
    closed: bool,
    title: (String, i32),
}

fn load(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    journal: &Journal,
) -> Result<Loaded, AppError> {
    let case = journal.case(conn, settings, actor, Action::View)?;
    let list = entries(conn, settings, actor, &case)?;
    let events = case_events(conn, &settings.keys, &case)?;
    let attachments = attachments(conn, &settings.keys, &case.report_id, &case.child_id)?;
    let writable = may_write(conn, actor, &case, matches!(journal, Journal::Report(..)))?;
    let closed = store::closed(conn, &case)?;
    let title = store::case_title(conn, &case)?;
    Ok(Loaded {
        case,
        list,
        events,
        attachments,
        writable,
        closed,
        title,
    })
}

/// The form's starting values: now, and for a correction the corrected entry's kind and time.
fn blank_form(correcting: Option<&Entry>) -> EntryInput {
    let now = crate::time::local(crate::db::now());
    match correcting {
        Some(entry) => EntryInput {
            kind: entry.kind.clone(),
            happened_at: entry.happened_at.format("%Y-%m-%d %H:%M").to_string(),
            ..EntryInput::default()
        },
        None => EntryInput {
            happened_at: now.format("%Y-%m-%d %H:%M").to_string(),
            ..EntryInput::default()
        },
    }
}

/// Renders a chronology page with `status`; `form` and `errors` are a form sent back.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn page(
    req: &HttpRequest,
    state: &AppState,
    user: AuthUser,
    actor: Actor,
    journal: Journal,
    correcting: Option<EntryId>,
    saved: &'static str,
    form: Option<(EntryInput, FormErrors)>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let path = journal.path();
    let loaded = state
        .db_with_settings(move |conn, settings| load(conn, settings, &actor, &journal))
        .await?;
    let correcting = correcting
        .and_then(|id| loaded.list.iter().find(|e| e.id == id).cloned())
        .filter(|_| loaded.writable);
    let (form, errors) =
        form.unwrap_or_else(|| (blank_form(correcting.as_ref()), FormErrors::default()));
    let page = ChronologyPage {
        layout: Layout::new(req, Some(user)),
        reference: loaded.title.0,
        child: loaded.title.1,
        back: format!("/anmalningar/{}", loaded.case.report_id),
        investigation: loaded.case.investigation_id.as_ref().map(|id| id.0.clone()),
        rows: chronology(loaded.list, loaded.events),
        attachments: loaded.attachments,
        saved,
        write_action: loaded.writable.then_some(path),
        closed: loaded.closed,
        correcting,
        form,
        errors,
    };
    render(status, &page)
}

async fn get_journal(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    journal: Journal,
    query: PageQuery,
) -> Result<HttpResponse, PageError> {
    let saved = Saved::message_on(
        SavedOn::Journal,
        &SavedQuery {
            saved: query.sparat,
        },
    );
    let correcting = query.ratta.map(EntryId);
    page(
        &req,
        &state,
        user,
        actor,
        journal,
        correcting,
        saved,
        None,
        StatusCode::OK,
    )
    .await
}

async fn get_investigation_journal(
    req: HttpRequest,
    who: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, PageError> {
    let journal = Journal::Investigation(InvestigationId(path.into_inner()));
    get_journal(req, who, state, journal, query.into_inner()).await
}

async fn get_report_journal(
    req: HttpRequest,
    who: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, PageError> {
    let (report, child) = path.into_inner();
    let journal = Journal::Report(ReportId(report), child);
    get_journal(req, who, state, journal, query.into_inner()).await
}
