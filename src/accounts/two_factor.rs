//! Two-factor sign-in: a time-based one-time code (TOTP, RFC 6238: HMAC-SHA-1, 6 digits, 30-second
//! steps) from an authenticator app, and one-time recovery codes for a lost phone. Every role that
//! can read a child's data must have it; it is set up at the first login.
//!
//! The rules (which roles, which codes match, how recovery codes look) are pure and tested on
//! their own; the functions that take a connection keep the secret, the last used step and the
//! recovery codes' hashes.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::Rng;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::accounts::{session, Role, UserId};
use crate::audit::event::{Event, Object};
use crate::audit::AuditActor;
use crate::config::Settings;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::{recovery_codes, sessions, users};
use crate::db::{now, write_tx, AnyConnection};
use crate::error::AppError;
use crate::secrets::{hash_token, keyed_hash, same};

/// What authenticator apps show as the account's issuer.
pub const ISSUER: &str = "Samordna";
/// How many recovery codes a user gets at a time.
pub const RECOVERY_CODES: usize = 10;
const STEP_SECONDS: i64 = 30;
/// Letters and digits that cannot be mistaken for each other when read aloud or typed.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Whether a user with these roles must sign in with a second factor: everyone who can read a
/// child's data.
pub fn required_for(roles: &[Role]) -> bool {
    roles
        .iter()
        .any(|r| matches!(r, Role::Intake | Role::Caseworker | Role::Admin))
}

/// A new shared secret: 160 random bits, base32 as apps expect it.
pub fn new_secret() -> String {
    Secret::generate_secret().to_encoded().to_string()
}

fn totp(secret: &str, account: &str) -> Result<TOTP, AppError> {
    let bytes = Secret::Encoded(secret.to_string())
        .to_bytes()
        .map_err(|e| AppError::internal(format!("stored TOTP secret is not base32: {e:?}")))?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECONDS as u64,
        bytes,
        Some(ISSUER.into()),
        account.to_string(),
    )
    .map_err(|e| AppError::internal(format!("TOTP set-up: {e}")))
}

/// The `otpauth://` address an app reads from the QR code.
pub fn otpauth_uri(secret: &str, account: &str) -> Result<String, AppError> {
    Ok(totp(secret, account)?.get_url())
}

/// The QR code of `uri` as an SVG `data:` address for an `<img>` (the pages' CSP allows `data:`
/// images and nothing inline).
pub fn qr_code(uri: &str) -> Result<String, AppError> {
    use base64::Engine;
    let code = qrcode::QrCode::with_error_correction_level(uri, qrcode::EcLevel::M)
        .map_err(|e| AppError::internal(format!("QR code: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    Ok(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

/// The secret in groups of four, for typing into an app by hand.
pub fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The 30-second step at a Unix time.
pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The step whose code `code` is, if it is the code of the step before, at or after `unix_seconds`
/// (clocks drift) and later than `last_step` (a code works once).
pub fn matching_step(
    secret: &str,
    code: &str,
    unix_seconds: i64,
    last_step: Option<i64>,
) -> Result<Option<i64>, AppError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let totp = totp(secret, "x")?;
    let now = step_at(unix_seconds);
    Ok((now - 1..=now + 1)
        .filter(|step| last_step.is_none_or(|last| *step > last) && *step >= 0)
        .find(|step| same(&totp.generate((*step * STEP_SECONDS) as u64), &code)))
}

/// A new set of recovery codes, each `xxxx-xxxx` (about 40 bits).
pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::thread_rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut code: String = (0..8)
                .map(|_| RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())] as char)
                .collect();
            code.insert(4, '-');
            code
        })
        .collect()
}

/// A recovery code as typed, reduced to what is compared: lower case, no spaces or dashes.
pub fn normalise_recovery_code(typed: &str) -> String {
    typed
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A user's confirmed secret as stored: sealed like a child's data, since with the password it
/// opens the account.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct StoredSecret {
    pub id: UserId,
    pub totp_secret: Option<String>,
}

crate::sealed_row!(StoredSecret, users by id: [totp_secret]);

/// A secret shown on the set-up page and not yet confirmed. It belongs to the session that asked
/// for it: someone else who knows the password gets a secret of their own, so they cannot slip
/// theirs into the user's app (or read the user's) while set-up is half done.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct PendingSecret {
    pub id: String,
    pub pending_totp_secret: Option<String>,
}

crate::sealed_row!(PendingSecret, sessions by id: [pending_totp_secret]);

/// Whether a user has confirmed an app.
pub fn enabled(conn: &mut AnyConnection, user_id: &UserId) -> Result<bool, AppError> {
    let at: Option<NaiveDateTime> = users::table
        .find(user_id)
        .select(users::totp_enabled_at)
        .first(conn)?;
    Ok(at.is_some())
}

/// The secret to show on the set-up page of this session (`session_token` as in the cookie): the
/// one already shown, so that reloading the page does not break a code the app already has, else
/// a new one. `None` when the user has an app already.
pub fn begin_setup(
    conn: &mut AnyConnection,
    keys: &Keyring,
    user_id: &UserId,
    session_token: &str,
) -> Result<Option<String>, AppError> {
    if enabled(conn, user_id)? {
        return Ok(None);
    }
    if let Some(secret) = pending_secret(conn, keys, session_token)? {
        return Ok(Some(secret));
    }
    let secret = new_secret();
    let sealed = PendingSecret {
        id: hash_token(session_token),
        pending_totp_secret: Some(secret.clone()),
    }
    .seal(keys);
    diesel::update(sessions::table.find(&sealed.id))
        .set(sessions::pending_totp_secret.eq(&sealed.pending_totp_secret))
        .execute(conn)?;
    Ok(Some(secret))
}

fn pending_secret(
    conn: &mut AnyConnection,
    keys: &Keyring,
    session_token: &str,
) -> Result<Option<String>, AppError> {
    let row: Option<PendingSecret> = sessions::table
        .find(hash_token(session_token))
        .select(PendingSecret::as_select())
        .first(conn)
        .optional()?;
    Ok(match row {
        Some(row) => row.open(keys)?.pending_totp_secret,
        None => None,
    })
}

/// Confirms set-up with a code from the app showing this session's secret. On success the
/// secret is the user's, the second factor is on, and the user's new recovery codes are
/// returned, to be shown once.
pub fn finish_setup(
    conn: &mut AnyConnection,
    settings: &Settings,
    user_id: &UserId,
    session_token: &str,
    code: &str,
    unix_seconds: i64,
) -> Result<Option<Vec<String>>, AppError> {
    if enabled(conn, user_id)? {
        return Ok(None);
    }
    let Some(secret) = pending_secret(conn, &settings.keys, session_token)? else {
        return Ok(None);
    };
    let Some(step) = matching_step(&secret, code, unix_seconds, None)? else {
        return Ok(None);
    };
    let stored = StoredSecret {
        id: user_id.clone(),
        totp_secret: Some(secret),
    }
    .seal(&settings.keys);
    diesel::update(users::table.find(user_id))
        .set((
            users::totp_secret.eq(&stored.totp_secret),
            users::totp_enabled_at.eq(now()),
            users::totp_last_step.eq(step),
        ))
        .execute(conn)?;
    Ok(Some(replace_recovery_codes(conn, settings, user_id)?))
}

/// How a second factor was proved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    App,
    RecoveryCode,
}

/// Checks a code from the user's app or a recovery code; either works once.
pub fn verify(
    conn: &mut AnyConnection,
    settings: &Settings,
    user_id: &UserId,
    typed: &str,
    unix_seconds: i64,
) -> Result<Option<Proof>, AppError> {
    let (stored, enabled, last_step): (StoredSecret, Option<NaiveDateTime>, Option<i64>) =
        users::table
            .find(user_id)
            .select((
                StoredSecret::as_select(),
                users::totp_enabled_at,
                users::totp_last_step,
            ))
            .first(conn)?;
    let (Some(secret), Some(_)) = (stored.open(&settings.keys)?.totp_secret, enabled) else {
        return Ok(None);
    };
    if let Some(step) = matching_step(&secret, typed, unix_seconds, last_step)? {
        // Only moves forward: two requests with the same code cannot both pass.
        let moved = diesel::update(users::table.find(user_id))
            .filter(
                users::totp_last_step
                    .is_null()
                    .or(users::totp_last_step.lt(step)),
            )
            .set(users::totp_last_step.eq(step))
            .execute(conn)?;
        return Ok((moved == 1).then_some(Proof::App));
    }
    let code = normalise_recovery_code(typed);
    if code.len() != 8 {
        return Ok(None);
    }
    let used = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::code_hash.eq(recovery_code_hash(settings, &code)))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now()))
    .execute(conn)?;
    Ok((used == 1).then_some(Proof::RecoveryCode))
}

/// What a right code at the second step of signing in did.
pub enum CodeOutcome {
    /// The app was set up: the recovery codes, to be shown once.
    SetUp(Vec<String>),
    /// The second factor was checked, by the app or a recovery code.
    Verified(Proof),
}

/// The second step of signing in, in one transaction: sets the app up with `code` when the user
/// has not yet, checks it otherwise, and records either, right or wrong, in the audit trail. A
/// right code marks the session (`session_token`) as past its second factor and returns the
/// session's new token with what happened; a wrong one returns `None`.
pub fn sign_in_with_code(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &AuditActor,
    user_id: &UserId,
    session_token: &str,
    code: &str,
    unix_seconds: i64,
) -> Result<Option<(String, CodeOutcome)>, AppError> {
    write_tx(conn, |conn| {
        let setting_up = !enabled(conn, user_id)?;
        let result = if setting_up {
            finish_setup(conn, settings, user_id, session_token, code, unix_seconds)?
                .map(CodeOutcome::SetUp)
        } else {
            verify(conn, settings, user_id, code, unix_seconds)?.map(CodeOutcome::Verified)
        };
        let action = if setting_up {
            "session.two_factor_setup"
        } else {
            "session.second_factor"
        };
        let object = Object::User(user_id.as_str());
        let Some(result) = result else {
            Event::failure(actor, action, object)
                .detail("wrong code")
                .record(conn)?;
            return Ok(None);
        };
        let detail = match result {
            CodeOutcome::Verified(Proof::RecoveryCode) if !setting_up => "recovery code",
            _ => "",
        };
        Event::success(actor, action, object)
            .detail(detail)
            .record(conn)?;
        let token = session::second_factor_checked(conn, session_token)?;
        Ok(Some((token, result)))
    })
}

/// How a recovery code is stored: keyed with the service's secret key, so that a copy of the
/// database alone does not let anyone try all 40-bit codes.
fn recovery_code_hash(settings: &Settings, normalised: &str) -> String {
    keyed_hash(&settings.secret_key, "recovery-code", normalised)
}

pub fn recovery_codes_left(conn: &mut AnyConnection, user_id: &UserId) -> Result<usize, AppError> {
    let left: i64 = recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(left as usize)
}

/// Replaces a user's recovery codes with new ones and returns them; the old ones stop working.
pub fn replace_recovery_codes(
    conn: &mut AnyConnection,
    settings: &Settings,
    user_id: &UserId,
) -> Result<Vec<String>, AppError> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    let codes = new_recovery_codes();
    let at = now();
    for code in &codes {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash
                    .eq(recovery_code_hash(settings, &normalise_recovery_code(code))),
                recovery_codes::created_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(codes)
}

/// Turns the second factor off for a user who lost their phone and codes: the secret and codes
/// go, every session ends, and the next login sets it up again.
pub fn reset(conn: &mut AnyConnection, user_id: &UserId) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set((
            users::totp_secret.eq(None::<String>),
            users::totp_enabled_at.eq(None::<NaiveDateTime>),
            users::totp_last_step.eq(None::<i64>),
        ))
        .execute(conn)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    crate::accounts::session::end_all_for_user(conn, user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows, with the RFC's 20-byte ASCII key; the RFC gives 8
    /// digits, an app shows the last 6.
    #[test]
    fn codes_are_those_of_rfc_6238() {
        let secret = Secret::Raw(b"12345678901234567890".to_vec())
            .to_encoded()
            .to_string();
        for (time, rfc) in [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ] {
            let code = &rfc[2..];
            assert_eq!(
                matching_step(&secret, code, time, None).unwrap(),
                Some(step_at(time)),
                "{time}"
            );
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_only_once() {
        let secret = new_secret();
        let t = 1_800_000_015;
        let totp = totp(&secret, "x").unwrap();
        let code = |step: i64| totp.generate((step * 30) as u64);
        let now = step_at(t);
        assert_eq!(
            matching_step(&secret, &code(now - 1), t, None).unwrap(),
            Some(now - 1)
        );
        assert_eq!(
            matching_step(&secret, &code(now + 1), t, None).unwrap(),
            Some(now + 1)
        );
        assert_eq!(
            matching_step(&secret, &code(now - 2), t, None).unwrap(),
            None
        );
        assert_eq!(
            matching_step(&secret, &code(now + 2), t, None).unwrap(),
            None
        );
        // Used once: the same step, or an earlier one, no longer works.
        assert_eq!(
            matching_step(&secret, &code(now), t, Some(now)).unwrap(),
            None
        );
        assert_eq!(
            matching_step(&secret, &code(now - 1), t, Some(now - 1)).unwrap(),
            None
        );
        assert_eq!(
            matching_step(&secret, &code(now), t, Some(now - 1)).unwrap(),
            Some(now)
        );
        // Spaces as apps show them are fine; anything else is not a code.
        let spaced = format!("{} {}", &code(now)[..3], &code(now)[3..]);
        assert_eq!(matching_step(&secret, &spaced, t, None).unwrap(), Some(now));
        for wrong in ["", "12345", "1234567", "abcdef", "12345a"] {
            assert_eq!(
                matching_step(&secret, wrong, t, None).unwrap(),
                None,
                "{wrong}"
            );
        }
    }

    #[test]
    fn secrets_are_random_base32_of_160_bits() {
        let a = new_secret();
        assert_eq!(a.len(), 32);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
        assert_ne!(a, new_secret());
        assert_eq!(grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
        let uri = otpauth_uri(&a, "anna@skola.se").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Samordna:anna%40skola.se?"),
            "{uri}"
        );
        assert!(uri.contains(&format!("secret={a}")) && uri.contains("issuer=Samordna"));
        assert!(qr_code(&uri)
            .unwrap()
            .starts_with("data:image/svg+xml;base64,"));
    }

    #[test]
    fn recovery_codes_are_distinct_and_forgiving_to_type() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(code.len(), 9);
            assert_eq!(&code[4..5], "-");
            assert!(!code.contains(['0', 'o', '1', 'l', 'i']));
        }
        assert_eq!(normalise_recovery_code(" AbCd-2345 "), "abcd2345");
    }

    #[test]
    fn only_roles_that_read_children_need_it() {
        assert!(!required_for(&[Role::Reporter]));
        assert!(!required_for(&[]));
        for role in [Role::Intake, Role::Caseworker, Role::Admin] {
            assert!(required_for(&[Role::Reporter, role]));
        }
    }
}
