//! Municipalities, organisations and user accounts, with their roles: adding and finding them
//! (SQL here), adding a user with their welcome email, and changing a password. The types and
//! pure rules are in [`model`].

pub mod admin;
pub mod identity;
pub mod model;
pub mod password;
pub mod session;
pub mod sso;
pub mod throttle;
pub mod tokens;
pub mod two_factor;
pub mod web;

use diesel::prelude::*;

use crate::audit::event::{Event, Object};
use crate::db::schema::{municipalities, organisations, user_roles, users};
use crate::db::{now, AnyConnection};
use crate::error::{AppError, FieldError};
// re-export for the move in issue 17; removed when every caller uses the new path
pub use crate::ids::{MunicipalityId, OrganisationId, UserId};
// The types and rules, where every caller finds them.
pub(crate) use model::required;
pub use model::{
    organisation_label, parse_email, same_name_warning, same_organisation_name, AuthUser,
    Municipality, NewOrganisation, NewUser, OrgKind, Organisation, Principal, Role, User,
};

/// The organisations of other municipalities than `municipality` named like `name`, as labels.
pub fn same_name_elsewhere(
    conn: &mut AnyConnection,
    name: &str,
    municipality: &MunicipalityId,
) -> Result<Vec<String>, AppError> {
    Ok(list_organisations(conn, None)?
        .into_iter()
        .filter(|(o, _)| {
            o.municipality_id != *municipality && same_organisation_name(&o.name, name)
        })
        .map(|(o, m)| o.label(&m))
        .collect())
}

/// Adds an organisation unless an organisation of another municipality is named like it and
/// `confirmed` is not set: then adds nothing and returns those organisations' labels (`Err`).
/// Call it inside the write transaction, so that the check and the insert see the same rows.
pub fn create_organisation_unless_named_elsewhere(
    conn: &mut AnyConnection,
    input: &NewOrganisation,
    confirmed: bool,
) -> Result<Result<Organisation, Vec<String>>, AppError> {
    if !confirmed {
        let municipality = MunicipalityId(input.municipality_id.clone());
        let elsewhere = same_name_elsewhere(conn, &input.name, &municipality)?;
        if !elsewhere.is_empty() {
            return Ok(Err(elsewhere));
        }
    }
    create_organisation(conn, input).map(Ok)
}

pub fn create_municipality(
    conn: &mut AnyConnection,
    name: &str,
    phone: &str,
) -> Result<Municipality, AppError> {
    let mut errors = Vec::new();
    let name = required(&mut errors, "municipality_name", name, "kommunens namn");
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let exists = municipalities::table
        .filter(municipalities::name.eq(&name))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if exists {
        return Err(AppError::Invalid(vec![FieldError::new(
            "municipality_name",
            "Det finns redan en kommun med det namnet.",
        )]));
    }
    let municipality = Municipality {
        id: MunicipalityId::generate(),
        name,
        phone: phone.trim().to_string(),
        created_at: now(),
    };
    diesel::insert_into(municipalities::table)
        .values(&municipality)
        .execute(conn)?;
    Ok(municipality)
}

pub fn list_municipalities(conn: &mut AnyConnection) -> Result<Vec<Municipality>, AppError> {
    Ok(municipalities::table
        .order(municipalities::name)
        .select(Municipality::as_select())
        .load(conn)?)
}

pub fn find_municipality_by_name(
    conn: &mut AnyConnection,
    name: &str,
) -> Result<Option<Municipality>, AppError> {
    Ok(municipalities::table
        .filter(municipalities::name.eq(name.trim()))
        .select(Municipality::as_select())
        .first(conn)
        .optional()?)
}

pub fn create_organisation(
    conn: &mut AnyConnection,
    input: &NewOrganisation,
) -> Result<Organisation, AppError> {
    let mut errors = Vec::new();
    let name = required(&mut errors, "name", &input.name, "organisationens namn");
    let kind = input.kind.parse::<OrgKind>().ok();
    if kind.is_none() {
        errors.push(FieldError::new(
            "kind",
            "Välj vilken sorts verksamhet det är.",
        ));
    }
    let principal = input.principal.parse::<Principal>().ok();
    if principal.is_none() {
        errors.push(FieldError::new(
            "principal",
            "Välj huvudman: kommun, region eller annan.",
        ));
    }
    let municipality_id = MunicipalityId(input.municipality_id.trim().to_string());
    let municipality_exists = municipalities::table
        .find(&municipality_id)
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if !municipality_exists {
        errors.push(FieldError::new(
            "municipality_id",
            "Välj en kommun i listan.",
        ));
    } else if organisations::table
        .filter(organisations::municipality_id.eq(&municipality_id))
        .filter(organisations::name.eq(&name))
        .count()
        .get_result::<i64>(conn)?
        > 0
    {
        errors.push(FieldError::new(
            "name",
            "Det finns redan en organisation med det namnet i kommunen.",
        ));
    }
    let (Some(kind), Some(principal), true) = (kind, principal, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let organisation = Organisation {
        id: OrganisationId::generate(),
        name,
        kind,
        principal,
        municipality_id,
        created_at: now(),
    };
    diesel::insert_into(organisations::table)
        .values(&organisation)
        .execute(conn)?;
    Ok(organisation)
}

/// Organisations with their municipality's name, sorted for lists and menus: all of them, or
/// those `within` one municipality.
pub fn list_organisations(
    conn: &mut AnyConnection,
    within: Option<&MunicipalityId>,
) -> Result<Vec<(Organisation, String)>, AppError> {
    let mut query = organisations::table
        .inner_join(municipalities::table)
        .into_boxed();
    if let Some(municipality) = within {
        query = query.filter(organisations::municipality_id.eq(municipality));
    }
    Ok(query
        .order((municipalities::name, organisations::name))
        .select((Organisation::as_select(), municipalities::name))
        .load(conn)?)
}

/// An organisation by id, if there is one.
pub fn find_organisation(
    conn: &mut AnyConnection,
    id: &OrganisationId,
) -> Result<Option<Organisation>, AppError> {
    Ok(organisations::table
        .find(id)
        .select(Organisation::as_select())
        .first(conn)
        .optional()?)
}

/// The municipality an organisation belongs to, if there is such an organisation.
pub fn municipality_of_organisation(
    conn: &mut AnyConnection,
    organisation: &OrganisationId,
) -> Result<Option<MunicipalityId>, AppError> {
    Ok(organisations::table
        .find(organisation)
        .select(organisations::municipality_id)
        .get_result(conn)
        .optional()?)
}

/// The municipality a user works in, if there is such a user.
pub fn municipality_of_user(
    conn: &mut AnyConnection,
    user: &UserId,
) -> Result<Option<MunicipalityId>, AppError> {
    Ok(users::table
        .inner_join(organisations::table)
        .filter(users::id.eq(user))
        .select(organisations::municipality_id)
        .get_result(conn)
        .optional()?)
}

pub fn create_user(conn: &mut AnyConnection, input: &NewUser) -> Result<User, AppError> {
    let mut errors = Vec::new();
    let email = parse_email(&mut errors, "email", &input.email);
    let name = required(&mut errors, "name", &input.name, "namnet");
    let title = required(&mut errors, "title", &input.title, "titeln");
    let organisation_id = OrganisationId(input.organisation_id.trim().to_string());
    if organisations::table
        .find(&organisation_id)
        .count()
        .get_result::<i64>(conn)?
        == 0
    {
        errors.push(FieldError::new(
            "organisation_id",
            "Välj en organisation i listan.",
        ));
    }
    if input.roles.is_empty() {
        errors.push(FieldError::new("roles", "Välj minst en roll."));
    }
    if let Err(message) = password::check_strength(&input.password) {
        errors.push(FieldError::new("password", message));
    }
    if errors.iter().all(|e| e.field != "email") && find_user_by_email(conn, &email)?.is_some() {
        errors.push(FieldError::new(
            "email",
            "Det finns redan ett konto med den e-postadressen.",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let at = now();
    let user = User {
        id: UserId::generate(),
        email,
        name,
        title,
        phone: input.phone.trim().to_string(),
        organisation_id,
        password_hash: password::hash(&input.password)?,
        active: true,
        created_at: at,
        password_changed_at: at,
    };
    diesel::insert_into(users::table)
        .values(&user)
        .execute(conn)?;
    let mut roles = input.roles.clone();
    roles.sort();
    roles.dedup();
    for role in roles {
        diesel::insert_into(user_roles::table)
            .values((user_roles::user_id.eq(&user.id), user_roles::role.eq(role)))
            .execute(conn)?;
    }
    Ok(user)
}

/// Adds a user as one change: the account, its audit entry and the welcome email, all or nothing.
pub fn add_user(
    conn: &mut AnyConnection,
    settings: &crate::config::Settings,
    by: &crate::audit::AuditActor,
    input: &NewUser,
) -> Result<User, AppError> {
    crate::db::write_tx(conn, |conn| {
        let user = create_user(conn, input)?;
        let municipality =
            municipality_of_organisation(conn, &user.organisation_id)?.ok_or(AppError::NotFound)?;
        let roles: Vec<&str> = input.roles.iter().map(|r| r.as_str()).collect();
        Event::success(by, "user.create", Object::User(user.id.as_str()))
            .detail(&format!("roles={}", roles.join(",")))
            .record(conn)?;
        crate::mail::enqueue(
            conn,
            &welcome_email(&user, settings)?,
            &municipality,
            settings,
        )?;
        Ok(user)
    })
}

/// Tells a new user where to log in. Like every email from the service, it says nothing about
/// any child.
pub fn welcome_email(
    user: &User,
    settings: &crate::config::Settings,
) -> Result<crate::mail::Email, AppError> {
    Ok(crate::mail::Email {
        to: crate::mail::recipient(&user.name, &user.email)?,
        subject: "Du har ett konto i Samordna".into(),
        text: format!(
            "Hej {name}!\n\n\
             Du har fått ett konto i Samordna, tjänsten där skola, vård och socialtjänst \
             samarbetar kring barn.\n\n\
             Logga in här: {link}\n\
             Ditt användarnamn är din e-postadress: {email}\n\
             Ditt första lösenord får du av den som skapade kontot.\n\n\
             Det här meddelandet skickades automatiskt. Svara inte på det.\n",
            name = user.name,
            link = settings.link("/login"),
            email = user.email,
        ),
        html: None,
        calendar: None,
    })
}

pub fn find_user_by_email(conn: &mut AnyConnection, email: &str) -> Result<Option<User>, AppError> {
    Ok(users::table
        .filter(users::email.eq(email.trim().to_lowercase()))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn set_password(
    conn: &mut AnyConnection,
    user_id: &UserId,
    new_password: &str,
) -> Result<(), AppError> {
    password::check_strength(new_password)
        .map_err(|m| AppError::Invalid(vec![FieldError::new("password", m)]))?;
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(password::hash(new_password)?),
            users::password_changed_at.eq(now()),
        ))
        .execute(conn)?;
    session::end_all_for_user(conn, user_id)?;
    Ok(())
}

/// A signed-in user changes their own password: the current one must be right and the new one
/// acceptable (errors beside each field, in Swedish). Every session of the user ends, this one
/// too, and the change is audited.
pub fn change_password(
    conn: &mut AnyConnection,
    user: &AuthUser,
    current: &str,
    new: &str,
    repeat: &str,
) -> Result<(), AppError> {
    let mut errors = password::change_errors(current, new, repeat);
    let stored: String = users::table
        .find(&user.id)
        .select(users::password_hash)
        .first(conn)?;
    if !current.is_empty() && !password::verify(current, Some(&stored)) {
        Event::failure(
            &user.into(),
            "user.password_change",
            Object::User(user.id.as_str()),
        )
        .detail("wrong current password")
        .record(conn)?;
        errors.insert(
            0,
            FieldError::new(
                "current_password",
                "Lösenordet stämmer inte. Skriv det lösenord du loggade in med.",
            ),
        );
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    crate::db::write_tx(conn, |conn| {
        set_password(conn, &user.id, new)?;
        Event::success(
            &user.into(),
            "user.password_change",
            Object::User(user.id.as_str()),
        )
        .detail("every session ended")
        .record(conn)
        .map(|_| ())
    })
}

pub fn roles_of(conn: &mut AnyConnection, user_id: &UserId) -> Result<Vec<Role>, AppError> {
    let mut roles: Vec<Role> = user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .select(user_roles::role)
        .load(conn)?;
    roles.sort();
    Ok(roles)
}

/// Loads an active user with organisation and roles, as permission checks need them.
pub fn load_auth_user(
    conn: &mut AnyConnection,
    user_id: &UserId,
) -> Result<Option<AuthUser>, AppError> {
    let row: Option<(User, Organisation, String)> = users::table
        .inner_join(organisations::table.inner_join(municipalities::table))
        .filter(users::id.eq(user_id))
        .filter(users::active.eq(true))
        .select((
            User::as_select(),
            Organisation::as_select(),
            municipalities::name,
        ))
        // By key: no `first`, see `crate::db` on `LIMIT` binds.
        .get_result(conn)
        .optional()?;
    let Some((user, organisation, municipality_name)) = row else {
        return Ok(None);
    };
    Ok(Some(AuthUser {
        roles: roles_of(conn, &user.id)?,
        id: user.id,
        email: user.email,
        name: user.name,
        title: user.title,
        phone: user.phone,
        organisation,
        municipality_name,
    }))
}

/// The users of a municipality with organisation name and roles, for the admin list.
pub fn list_users(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
) -> Result<Vec<(User, String, Vec<Role>)>, AppError> {
    let rows: Vec<(User, String)> = users::table
        .inner_join(organisations::table)
        .filter(organisations::municipality_id.eq(municipality))
        .order(users::name)
        .select((User::as_select(), organisations::name))
        .load(conn)?;
    let all_roles: Vec<(UserId, Role)> = user_roles::table
        .inner_join(users::table.inner_join(organisations::table))
        .filter(organisations::municipality_id.eq(municipality))
        .select((user_roles::user_id, user_roles::role))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user, org)| {
            let mut roles: Vec<Role> = all_roles
                .iter()
                .filter(|(id, _)| *id == user.id)
                .map(|(_, r)| *r)
                .collect();
            roles.sort();
            (user, org, roles)
        })
        .collect())
}
