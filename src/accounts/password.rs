//! Passwords, hashed with argon2id.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::Rng;

use crate::error::AppError;

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
    Ok(())
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
