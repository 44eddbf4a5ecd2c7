//! The accounts' types and their pure rules: what an organisation is and how it is named, who a
//! user is and what they may do, and how names and email addresses are checked. Pure: no I/O.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{municipalities, organisations, users};
use crate::error::FieldError;
use crate::ids::{MunicipalityId, OrganisationId, UserId};
use crate::text_enum;

text_enum!(
    /// What an organisation is.
    OrgKind {
        Socialtjanst => "socialtjanst" : "Socialtjänst",
        Skola => "skola" : "Skola",
        Forskola => "forskola" : "Förskola",
        Bvc => "bvc" : "BVC (barnavårdscentral)",
        Bup => "bup" : "BUP (barn- och ungdomspsykiatri)",
        Vardcentral => "vardcentral" : "Vårdcentral",
        Habilitering => "habilitering" : "Habilitering",
        Polis => "polis" : "Polis",
        // Reporters with a duty to report from 2026-01-15 (prop. 2025/26:12), and SIP partners.
        Tandvard => "tandvard" : "Tandvård",
        Kriminalvard => "kriminalvard" : "Kriminalvården",
        Migrationsverket => "migrationsverket" : "Migrationsverket",
        Ordningsvakt => "ordningsvakt" : "Ordningsvakt",
        Bevakning => "bevakning" : "Bevakningsföretag",
        AnnanMyndighet => "annan_myndighet" : "Annan myndighet",
        Annan => "annan" : "Annan verksamhet",
    }
);

text_enum!(
    /// The body responsible for an organisation (huvudman).
    Principal {
        Kommun => "kommun" : "Kommun",
        Region => "region" : "Region",
        Annan => "annan" : "Annan huvudman",
    }
);

text_enum!(
    /// What a user may do.
    Role {
        Reporter => "reporter" : "Anmälare",
        Intake => "intake" : "Mottagningssekreterare",
        Caseworker => "caseworker" : "Handläggare",
        // A unit manager (enhetschef): reads the municipality's statistics, no child's data.
        Manager => "manager" : "Enhetschef",
        Admin => "admin" : "Administratör",
    }
);

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = municipalities)]
pub struct Municipality {
    pub id: MunicipalityId,
    pub name: String,
    pub phone: String,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    pub id: OrganisationId,
    pub name: String,
    pub kind: OrgKind,
    pub principal: Principal,
    pub municipality_id: MunicipalityId,
    pub created_at: NaiveDateTime,
}

impl Organisation {
    /// How an organisation is named where organisations of more than one municipality are
    /// listed: "Björkskolan (Skola, Ekby)", so that two of the same name in two municipalities
    /// cannot be taken for each other.
    pub fn label(&self, municipality_name: &str) -> String {
        organisation_label(&self.name, self.kind, municipality_name)
    }
}

/// See [`Organisation::label`].
pub fn organisation_label(name: &str, kind: OrgKind, municipality_name: &str) -> String {
    // The kind without its explanation: "BVC", not "BVC (barnavårdscentral)".
    let kind = kind.label().split(" (").next().unwrap_or_default();
    format!("{name} ({kind}, {municipality_name})")
}

/// Whether two organisation names are the same to a reader: case, and spaces around and between
/// words, do not count.
pub fn same_organisation_name(a: &str, b: &str) -> bool {
    let words = |s: &str| {
        s.split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
    };
    words(a) == words(b)
}

/// What an admin is told before adding an organisation whose name is used in other
/// municipalities (`elsewhere`: their labels).
pub fn same_name_warning(name: &str, elsewhere: &[String]) -> String {
    format!(
        "Det finns redan en organisation som heter {} i en annan kommun: {}. Kontrollera att \
         det inte är den du menar. Är det en annan verksamhet, kryssa i rutan nedan och lägg \
         till den igen.",
        name.trim(),
        elsewhere.join("; ")
    )
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub title: String,
    pub phone: String,
    pub organisation_id: OrganisationId,
    pub password_hash: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub password_changed_at: NaiveDateTime,
}

/// A signed-in user with what every permission check needs.
#[derive(Clone, Debug)]
pub struct AuthUser {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub title: String,
    pub phone: String,
    pub organisation: Organisation,
    pub municipality_name: String,
    pub roles: Vec<Role>,
}

impl AuthUser {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Trims and checks a required one-line text field (a name or a title): filled in, no line
/// breaks or other control characters, at most 200 characters.
pub(crate) fn required(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: &str,
    what: &str,
) -> String {
    let value = value.trim();
    if value.is_empty() {
        errors.push(FieldError::new(field, format!("Fyll i {what}.")));
    } else if crate::input::has_control(value) {
        crate::input::check_name(errors, field, value);
    } else if value.chars().count() > 200 {
        errors.push(FieldError::new(
            field,
            format!("{} får vara högst 200 tecken.", capitalise(what)),
        ));
    }
    value.to_string()
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Checks an email address and returns it in lower case.
pub fn parse_email(errors: &mut Vec<FieldError>, field: &str, value: &str) -> String {
    let email = value.trim().to_lowercase();
    if email.is_empty() {
        errors.push(FieldError::new(field, "Fyll i e-postadressen."));
    } else if email.parse::<lettre::Address>().is_err() {
        errors.push(FieldError::new(
            field,
            "E-postadressen ser inte rätt ut. Skriv den som namn@exempel.se.",
        ));
    }
    email
}

/// What is needed to add an organisation, as typed by an admin.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct NewOrganisation {
    pub name: String,
    pub kind: String,
    pub principal: String,
    pub municipality_id: String,
}

/// What is needed to add a user.
#[derive(Clone, Debug, Default)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub title: String,
    pub phone: String,
    pub organisation_id: String,
    pub roles: Vec<Role>,
    pub password: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisations_are_named_with_kind_and_municipality() {
        assert_eq!(
            organisation_label("Björkskolan", OrgKind::Skola, "Ekby"),
            "Björkskolan (Skola, Ekby)"
        );
        assert_eq!(
            organisation_label("BVC Centrum", OrgKind::Bvc, "Annanstad"),
            "BVC Centrum (BVC, Annanstad)"
        );
        assert!(same_organisation_name("Björkskolan", "  björkskolan "));
        assert!(same_organisation_name("BVC  Centrum", "bvc centrum"));
        assert!(same_organisation_name("ÖSTRA SKOLAN", "östra skolan"));
        assert!(!same_organisation_name("BVC Centrum", "BVC Centrum Öst"));
    }

    #[test]
    fn enums_round_trip_and_explain_choices() {
        for kind in OrgKind::ALL {
            assert_eq!(kind.as_str().parse::<OrgKind>().unwrap(), *kind);
        }
        for (stored, label) in [
            ("tandvard", "Tandvård"),
            ("kriminalvard", "Kriminalvården"),
            ("migrationsverket", "Migrationsverket"),
            ("ordningsvakt", "Ordningsvakt"),
            ("bevakning", "Bevakningsföretag"),
            ("annan_myndighet", "Annan myndighet"),
        ] {
            assert_eq!(stored.parse::<OrgKind>().unwrap().label(), label);
        }
        let err = "skolan".parse::<OrgKind>().unwrap_err();
        assert!(err.contains("skola") && err.contains("bup"), "{err}");
        assert_eq!(Role::Intake.label(), "Mottagningssekreterare");
    }

    #[test]
    fn email_is_checked_and_lowercased() {
        let mut errors = Vec::new();
        assert_eq!(
            parse_email(&mut errors, "email", " Anna@Skola.SE "),
            "anna@skola.se"
        );
        assert!(errors.is_empty());
        parse_email(&mut errors, "email", "anna.skola.se");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("namn@exempel.se"));
    }
}
