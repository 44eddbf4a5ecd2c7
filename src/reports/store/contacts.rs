//! A municipality's intake settings: its office hours (or the service's default), the socialjour's
//! phone number, and the addresses an acute report's alert goes to.

use super::*;
use crate::reports::model::IntakeContactsChange;

/// The intake settings of one municipality, as stored (empty text: not set).
#[derive(Clone, Debug, Default, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = municipalities)]
pub struct IntakeContacts {
    /// `"08:00-16:30"`, or `None` for the service's `SAMORDNA_OFFICE_HOURS`.
    pub office_hours: Option<String>,
    pub socialjour_phone: String,
    pub socialjour_alert_email: String,
    pub intake_alert_email: String,
}

impl IntakeContacts {
    /// The municipality's office hours, or `default` when it has set none (or, from an older
    /// row, none that can be read).
    pub fn office_hours_or(&self, default: &OfficeHours) -> OfficeHours {
        self.office_hours
            .as_deref()
            .and_then(|text| text.parse().ok())
            .unwrap_or(*default)
    }
}

#[derive(AsChangeset)]
#[diesel(table_name = municipalities)]
struct Changes<'a> {
    office_hours: Option<Option<&'a str>>,
    socialjour_phone: Option<&'a str>,
    socialjour_alert_email: Option<&'a str>,
    intake_alert_email: Option<&'a str>,
}

/// The intake settings of a municipality, if it exists.
pub fn intake_contacts(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
) -> Result<Option<IntakeContacts>, AppError> {
    Ok(municipalities::table
        .find(municipality)
        .select(IntakeContacts::as_select())
        .first(conn)
        .optional()?)
}

/// Changes a municipality's intake settings (checked by
/// [`crate::reports::model::validate_intake_contacts`]) and gives them back as they now are. The
/// caller writes the audit entry in its transaction.
pub fn set_intake_contacts(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
    change: &IntakeContactsChange,
) -> Result<IntakeContacts, AppError> {
    let changes = Changes {
        office_hours: change.office_hours.as_ref().map(Option::as_deref),
        socialjour_phone: change.socialjour_phone.as_deref(),
        socialjour_alert_email: change.socialjour_alert_email.as_deref(),
        intake_alert_email: change.intake_alert_email.as_deref(),
    };
    diesel::update(municipalities::table.find(municipality))
        .set(&changes)
        .execute(conn)?;
    intake_contacts(conn, municipality)?.ok_or(AppError::NotFound)
}
