//! Passwords, hashed with argon2id.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::Rng;

use crate::error::{AppError, FieldError};

pub const MIN_LENGTH: usize = 10;
const MAX_LENGTH: usize = 200;

/// A password that is too short or too long gets a Swedish message saying what to do.
pub fn check_strength(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(format!(
            "Lösenordet behöver vara minst {MIN_LENGTH} tecken. Ett par ord i rad är lätt att minnas."
        ));
    }
    if length > MAX_LENGTH {
        return Err(format!("Lösenordet får vara högst {MAX_LENGTH} tecken."));
    }
    if is_common(password) {
        return Err(
            "Lösenordet är ett av de vanligaste och lätt att gissa. Välj ett annat, gärna några ord i rad."
                .into(),
        );
    }
    Ok(())
}

/// Whether a password is on the list of common passwords (`common-passwords.txt`), in any case,
/// or is one of them followed only by digits and symbols (`Sommar2024!`, `password123456`).
pub fn is_common(password: &str) -> bool {
    static LIST: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    let list = LIST.get_or_init(|| {
        include_str!("common-passwords.txt")
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    });
    let lower = password.trim().to_lowercase();
    let stem = lower.trim_end_matches(|c: char| !c.is_alphabetic());
    list.contains(lower.as_str()) || (stem.chars().count() >= 4 && list.contains(stem))
}

/// What is wrong with a password change as typed, each beside its field (`current_password`,
/// `new_password`, `repeat_password`), before the current password is checked. Pure.
pub fn change_errors(current: &str, new: &str, repeat: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if current.is_empty() {
        errors.push(FieldError::new(
            "current_password",
            "Fyll i lösenordet du har nu.",
        ));
    }
    if let Err(message) = check_strength(new) {
        errors.push(FieldError::new("new_password", message));
    } else if new == current {
        errors.push(FieldError::new(
            "new_password",
            "Det nya lösenordet är samma som det gamla. Välj ett annat.",
        ));
    } else if repeat != new {
        errors.push(FieldError::new(
            "repeat_password",
            "Lösenorden är inte lika. Skriv det nya lösenordet två gånger, likadant.",
        ));
    }
    errors
}

pub fn hash(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(AppError::internal)
}

/// Checks a password against a stored hash. With no hash (unknown user), a dummy hash is checked
/// so that the answer takes as long and does not reveal whether the account exists.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("dummy password for timing").unwrap_or_default());
    let (candidate, real) = match stored {
        Some(h) => (h, true),
        None => (dummy.as_str(), false),
    };
    let ok = PasswordHash::new(candidate)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    ok && real
}

/// A random password that is easy to type: four groups of letters and digits.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..4)
        .map(|_| {
            (0..4)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_change_says_what_is_wrong_beside_each_field() {
        let fields = |errors: Vec<FieldError>| -> Vec<String> {
            errors.into_iter().map(|e| e.field).collect()
        };
        let good = "tre ord i rad och lite till";
        assert!(change_errors("gammalt lösenord", good, good).is_empty());
        assert_eq!(fields(change_errors("", good, good)), ["current_password"]);
        assert_eq!(
            fields(change_errors("gammalt lösenord", "kort", "kort")),
            ["new_password"]
        );
        assert_eq!(
            fields(change_errors(
                "gammalt lösenord",
                "Sommar2024!",
                "Sommar2024!"
            )),
            ["new_password"],
            "common"
        );
        assert_eq!(
            fields(change_errors(good, good, good)),
            ["new_password"],
            "the same"
        );
        let mismatch = change_errors("gammalt lösenord", good, "tre ord i rad");
        assert_eq!(fields(mismatch.clone()), ["repeat_password"]);
        assert!(mismatch[0].message.contains("inte lika"));
    }

    #[test]
    fn common_passwords_are_refused_however_they_are_dressed() {
        for common in [
            "qwertyuiop",
            "1234567890",
            "Password123456",
            "Sommar2024!",
            "LÖSENORD12345",
            "fotboll123!",
        ] {
            assert!(check_strength(common).is_err(), "{common}");
        }
        assert!(check_strength("korrekt hästbatteri").is_ok());
        assert!(
            check_strength("lösenord-3f9a1c2b").is_ok(),
            "a common word with more after it"
        );
        assert!(check_strength(&generate()).is_ok());
        assert!(check_strength("Sommar2024!")
            .unwrap_err()
            .contains("vanligaste"));
    }

    #[test]
    fn hash_is_argon2id_and_verifies() {
        let h = hash("korrekt hästbatteri").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("korrekt hästbatteri", Some(&h)));
        assert!(!verify("fel lösenord!", Some(&h)));
        assert!(!verify("korrekt hästbatteri", None));
    }

    #[test]
    fn strength_rules() {
        assert!(check_strength("kort").unwrap_err().contains("minst 10"));
        assert!(check_strength(&"x".repeat(201)).is_err());
        assert!(check_strength("tre ord i rad").is_ok());
        let generated = generate();
        assert_eq!(generated.len(), 19);
        assert!(check_strength(&generated).is_ok());
    }
}
