//! A municipality's intake settings for the acute-report tests: office hours chosen around the
//! present moment (tests cannot move the clock), the socialjour's number and alert addresses.

use samordna::reports::model::IntakeContactsChange;
use samordna::time::OfficeHours;

use super::TestApp;

pub const SOCIALJOUR_PHONE: &str = "010-222 33 44";
pub const SOCIALJOUR_ALERT: &str = "socialjour@ekby.test";
pub const INTAKE_ALERT: &str = "mottagningen@ekby.test";

/// Office hours that now is outside of, as at 21:00 on a weekday: closed for at least an hour,
/// and the next closing more than two hours away, so that an acute report's two-hour clock is
/// the one that runs out first.
pub fn office_hours_closed_now() -> String {
    let now = samordna::time::local(samordna::db::now());
    let hour = chrono::Timelike::hour(&now);
    let hours = if hour >= 3 {
        format!("00:00-{:02}:00", hour - 2)
    } else {
        "20:00-23:00".to_string()
    };
    let parsed: OfficeHours = hours.parse().unwrap();
    assert!(!samordna::reports::deadlines::in_office_hours(
        samordna::db::now(),
        &parsed
    ));
    hours
}

impl TestApp {
    /// Sets the intake settings of the named municipality (added if needed): these office hours
    /// (`None`: the service's default), and the socialjour's number and both alert addresses
    /// unless `with_addresses` is false.
    pub async fn set_intake_contacts(
        &self,
        municipality: &str,
        office_hours: Option<&str>,
        with_addresses: bool,
    ) {
        let municipality = municipality.to_string();
        let office_hours = office_hours.map(str::to_string);
        self.conn(move |conn| {
            let m = super::municipality_named(conn, &municipality).unwrap();
            let text = |s: &str| Some(if with_addresses { s } else { "" }.to_string());
            samordna::reports::store::set_intake_contacts(
                conn,
                &m.id,
                &IntakeContactsChange {
                    office_hours: Some(office_hours),
                    socialjour_phone: text(SOCIALJOUR_PHONE),
                    socialjour_alert_email: text(SOCIALJOUR_ALERT),
                    intake_alert_email: text(INTAKE_ALERT),
                },
            )
            .unwrap();
        })
        .await;
    }
}
