//! Consultations in the database. Callers check access with [`crate::authz`] first; every function
//! that reads or changes one writes the audit entry itself, in the same transaction. The
//! situation, the unit and the answer are sealed at rest.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::{AuthUser, MunicipalityId, UserId};
use crate::audit::event::{Event, Object};
use crate::audit::AuditActor;
use crate::config::Settings;
use crate::consultations::model::{ValidAnswer, ValidConsultation};
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::{consultations, municipalities, organisations, users};
use crate::db::{now, write_tx, AnyConnection};
use crate::error::{AppError, FieldError};
use crate::mail::{self, Email};
use crate::reports::store::ReportId;
use crate::string_id;

string_id!(ConsultationId);

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = consultations)]
pub struct Consultation {
    pub id: ConsultationId,
    /// Quoted in mail and on the phone, e.g. `KO-7K3F-Q9`.
    pub reference: String,
    pub municipality_id: MunicipalityId,
    pub asked_by: UserId,
    pub asked_at: NaiveDateTime,
    pub situation: String,
    pub child_age: i32,
    pub unit: String,
    pub answer: Option<String>,
    pub should_report: Option<bool>,
    pub answered_at: Option<NaiveDateTime>,
    pub answered_by: Option<UserId>,
    /// The report it was made into, while that report is kept.
    pub report_id: Option<ReportId>,
    pub converted_at: Option<NaiveDateTime>,
}
crate::sealed_row!(Consultation, consultations by id: [situation, unit, answer]);

/// A reference code like `KO-7K3F-Q9`, from letters and digits that cannot be confused.
pub fn new_reference() -> String {
    crate::ids::reference("KO", &[4, 2])
}

/// Stores a checked consultation asked by `asker` of `municipality`, with its audit entry.
pub fn create(
    conn: &mut AnyConnection,
    keys: &Keyring,
    asker: &AuthUser,
    municipality: &MunicipalityId,
    input: &ValidConsultation,
) -> Result<Consultation, AppError> {
    write_tx(conn, |conn| {
        let known: i64 = municipalities::table
            .find(municipality)
            .count()
            .get_result(conn)?;
        if known == 0 {
            return Err(AppError::Invalid(vec![FieldError::new(
                "municipality_id",
                "Välj vilken kommuns socialtjänst du vill fråga.",
            )]));
        }
        let mut reference = new_reference();
        while consultations::table
            .filter(consultations::reference.eq(&reference))
            .count()
            .get_result::<i64>(conn)?
            > 0
        {
            reference = new_reference();
        }
        let consultation = Consultation {
            id: ConsultationId::generate(),
            reference,
            municipality_id: municipality.clone(),
            asked_by: asker.id.clone(),
            asked_at: now(),
            situation: input.situation.clone(),
            child_age: input.child_age,
            unit: input.unit.clone(),
            answer: None,
            should_report: None,
            answered_at: None,
            answered_by: None,
            report_id: None,
            converted_at: None,
        };
        diesel::insert_into(consultations::table)
            .values(&consultation.clone().seal(keys))
            .execute(conn)?;
        Event::success(
            &AuditActor::from(asker),
            "consultation.create",
            Object::Consultation(consultation.id.as_str()),
        )
        .record_in(conn, municipality)?;
        Ok(consultation)
    })
}

/// The consultation, opened, for access checks before anything is shown (no audit entry: the
/// caller records the read once access is granted, with [`record_read`]).
pub fn find(
    conn: &mut AnyConnection,
    keys: &Keyring,
    id: &ConsultationId,
) -> Result<Option<Consultation>, AppError> {
    let found: Option<Consultation> = consultations::table
        .find(id)
        .select(Consultation::as_select())
        .get_result(conn)
        .optional()?;
    Ok(found.map(|c| c.open(keys)).transpose()?)
}

/// Who asked: a professional, always named, from their account.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Asker {
    pub name: String,
    pub title: String,
    pub organisation: String,
    pub phone: String,
    pub email: String,
}

/// The professional who asked the consultation.
pub fn asker_of(conn: &mut AnyConnection, consultation: &Consultation) -> Result<Asker, AppError> {
    let (name, title, phone, email, organisation): (String, String, String, String, String) =
        users::table
            .inner_join(organisations::table)
            .filter(users::id.eq(&consultation.asked_by))
            .select((
                users::name,
                users::title,
                users::phone,
                users::email,
                organisations::name,
            ))
            .get_result(conn)?;
    Ok(Asker {
        name,
        title,
        organisation,
        phone,
        email,
    })
}

/// Records that `reader` read the consultation.
pub fn record_read(
    conn: &mut AnyConnection,
    consultation: &Consultation,
    reader: &AuditActor,
) -> Result<(), AppError> {
    Event::success(
        reader,
        "consultation.read",
        Object::Consultation(consultation.id.as_str()),
    )
    .record_in(conn, &consultation.municipality_id)?;
    Ok(())
}

/// Records the answer (once) and tells the asker by email that there is one, without content,
/// in the same transaction.
pub fn answer(
    conn: &mut AnyConnection,
    settings: &Settings,
    officer: &AuthUser,
    consultation: &Consultation,
    input: &ValidAnswer,
) -> Result<Consultation, AppError> {
    write_tx(conn, |conn| {
        let answered_at = now();
        let changed = diesel::update(
            consultations::table
                .find(&consultation.id)
                .filter(consultations::answered_at.is_null()),
        )
        .set((
            consultations::answer.eq(settings.keys.seal("consultations.answer", &input.answer)),
            consultations::should_report.eq(input.should_report),
            consultations::answered_at.eq(answered_at),
            consultations::answered_by.eq(&officer.id),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(AppError::Conflict(
                "Konsultationen är redan besvarad.".into(),
            ));
        }
        let (name, email): (String, String) = users::table
            .find(&consultation.asked_by)
            .select((users::name, users::email))
            .get_result(conn)?;
        mail::enqueue(
            conn,
            &answer_email(&consultation.reference, &name, &email, settings)?,
            &consultation.municipality_id,
            settings,
        )?;
        Event::success(
            &AuditActor::from(officer),
            "consultation.answer",
            Object::Consultation(consultation.id.as_str()),
        )
        .detail(if input.should_report {
            "should_report=true"
        } else {
            "should_report=false"
        })
        .record_in(conn, &consultation.municipality_id)?;
        Ok(Consultation {
            answer: Some(input.answer.clone()),
            should_report: Some(input.should_report),
            answered_at: Some(answered_at),
            answered_by: Some(officer.id.clone()),
            ..consultation.clone()
        })
    })
}

/// Tells the asker there is an answer, and nothing else.
fn answer_email(
    reference: &str,
    name: &str,
    email: &str,
    settings: &Settings,
) -> Result<Email, AppError> {
    Ok(Email {
        to: mail::recipient(name, email)?,
        subject: format!("Svar på din konsultation {reference}"),
        text: format!(
            "Hej!\n\nSocialtjänsten har svarat på din konsultation {reference}. Logga in för att läsa svaret:\n{}\n\n\
             Av sekretesskäl står ingenting om konsultationen i det här meddelandet.\n\
             Meddelandet skickades automatiskt. Svara inte på det.\n",
            settings.link("/konsultation"),
        ),
        html: None,
        calendar: None,
    })
}

/// Marks the consultation as made into `report` (once), with its audit entry. Runs inside the
/// caller's transaction that filed the report.
pub fn mark_converted(
    conn: &mut AnyConnection,
    consultation: &Consultation,
    report: &ReportId,
    asker: &AuthUser,
) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        let changed = diesel::update(
            consultations::table
                .find(&consultation.id)
                .filter(consultations::converted_at.is_null()),
        )
        .set((
            consultations::report_id.eq(report),
            consultations::converted_at.eq(now()),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(already_converted());
        }
        Event::success(
            &AuditActor::from(asker),
            "consultation.convert",
            Object::Consultation(consultation.id.as_str()),
        )
        .detail(&format!("report={report}"))
        .record_in(conn, &consultation.municipality_id)?;
        Ok(())
    })
}

pub fn already_converted() -> AppError {
    AppError::Conflict("Konsultationen är redan gjord till en orosanmälan.".into())
}

/// The consultations a professional asked, newest first (their own text: no audit entry of a
/// child's data beyond the list read, which is recorded).
pub fn asked_by(
    conn: &mut AnyConnection,
    keys: &Keyring,
    asker: &AuthUser,
) -> Result<Vec<Consultation>, AppError> {
    let rows = consultations::table
        .filter(consultations::asked_by.eq(&asker.id))
        .order(consultations::asked_at.desc())
        .select(Consultation::as_select())
        .load::<Consultation>(conn)?
        .into_iter()
        .map(|c| c.open(keys))
        .collect::<Result<Vec<_>, _>>()?;
    Event::success(
        &AuditActor::from(asker),
        "consultation.list_own",
        Object::User(asker.id.as_str()),
    )
    .detail(&format!("consultations={}", rows.len()))
    .record(conn)?;
    Ok(rows)
}

/// A municipality's consultations for its intake officers: unanswered first (oldest first), then
/// answered (newest first). The read is audited.
pub fn of_municipality(
    conn: &mut AnyConnection,
    keys: &Keyring,
    municipality: &MunicipalityId,
    reader: &AuditActor,
) -> Result<Vec<Consultation>, AppError> {
    let mut rows = consultations::table
        .filter(consultations::municipality_id.eq(municipality))
        .order(consultations::asked_at.desc())
        .select(Consultation::as_select())
        .load::<Consultation>(conn)?
        .into_iter()
        .map(|c| c.open(keys))
        .collect::<Result<Vec<_>, _>>()?;
    rows.sort_by_key(|c| match c.answered_at {
        None => (0, c.asked_at.and_utc().timestamp()),
        Some(_) => (1, -c.asked_at.and_utc().timestamp()),
    });
    Event::success(
        reader,
        "consultation.list",
        Object::Municipality(municipality.as_str()),
    )
    .detail(&format!("consultations={}", rows.len()))
    .record(conn)?;
    Ok(rows)
}

/// One consultation that retention removes (or would remove).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removal {
    pub id: ConsultationId,
    pub municipality_id: MunicipalityId,
    pub asked_at: NaiveDateTime,
}

/// Removes (or, as a dry run, lists) the consultations asked `months` or more before `now`, each
/// in its own transaction with its audit entry (its id only). One removed meanwhile by another
/// instance is skipped.
pub fn remove_expired(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    months: u32,
    dry_run: bool,
) -> Result<Vec<Removal>, AppError> {
    let Some(cutoff) = now.checked_sub_months(chrono::Months::new(months)) else {
        return Ok(Vec::new());
    };
    let due: Vec<Removal> = consultations::table
        .filter(consultations::asked_at.le(cutoff))
        .order(consultations::asked_at)
        .select((
            consultations::id,
            consultations::municipality_id,
            consultations::asked_at,
        ))
        .load::<(ConsultationId, MunicipalityId, NaiveDateTime)>(conn)?
        .into_iter()
        .map(|(id, municipality_id, asked_at)| Removal {
            id,
            municipality_id,
            asked_at,
        })
        .collect();
    if dry_run {
        return Ok(due);
    }
    let mut removed = Vec::with_capacity(due.len());
    for removal in due {
        let gone = write_tx(conn, |conn| {
            if diesel::delete(consultations::table.find(&removal.id)).execute(conn)? == 0 {
                return Ok::<_, AppError>(false);
            }
            Event::success(
                &AuditActor::system().within(&removal.municipality_id),
                "consultation.retention_removed",
                Object::Consultation(removal.id.as_str()),
            )
            .detail(&format!("months={months}"))
            .record_in(conn, &removal.municipality_id)?;
            Ok(true)
        })?;
        if gone {
            removed.push(removal);
        }
    }
    Ok(removed)
}
