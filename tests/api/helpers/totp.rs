//! A user's credentials and their authenticator app, with a TOTP written from the RFC so that
//! the second step of signing in is tested against an independent implementation.

use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Login {
    pub email: String,
    pub password: String,
    pub user_id: String,
    /// The authenticator app of this user, once the second factor is set up through the pages.
    pub app: Authenticator,
}

impl Login {
    pub fn new(email: &str, password: &str, user_id: &str) -> Self {
        Login {
            email: email.into(),
            password: password.into(),
            user_id: user_id.into(),
            app: Authenticator::default(),
        }
    }
}

/// What a user's authenticator app holds: the secret read off the set-up page and the last
/// 30-second step a code was used for (the service takes each step's code once).
#[derive(Clone, Default)]
pub struct Authenticator(Arc<Mutex<Option<(String, i64)>>>);

impl Authenticator {
    pub fn secret(&self) -> Option<String> {
        self.0.lock().unwrap().as_ref().map(|(s, _)| s.clone())
    }

    /// Keeps the secret shown on a set-up page (spaces as shown are dropped).
    pub fn scan(&self, setup_page: &str) -> String {
        let start = setup_page
            .find("id=\"totp-secret\"")
            .expect("the set-up page shows the secret");
        let text = &setup_page[start..];
        let text = &text[text.find('>').unwrap() + 1..text.find("</code>").unwrap()];
        let secret: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        *self.0.lock().unwrap() = Some((secret.clone(), -1));
        secret
    }

    /// A code the service has not seen yet: the current step's, or the next one's when this
    /// step was used (the service accepts one step either side); waits for a fresh step when
    /// both were used. Never the previous step's, which may be two steps old by the time the
    /// service reads it.
    pub async fn next_code(&self) -> String {
        loop {
            let now = unix_now() / 30;
            {
                let mut held = self.0.lock().unwrap();
                let (secret, last) = held.as_mut().expect("the app was set up");
                let step = now.max(*last + 1);
                if step <= now + 1 {
                    *last = step;
                    return totp_code(secret, step * 30);
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// RFC 6238 TOTP (HMAC-SHA-1, 6 digits, 30-second steps) written here from the RFC, independent
/// of the crate the service uses, with the secret in RFC 4648 base32.
pub fn totp_code(base32_secret: &str, unix: i64) -> String {
    use hmac::{Hmac, Mac};
    let mut key = Vec::new();
    let (mut buffer, mut bits) = (0u64, 0);
    for c in base32_secret.trim_end_matches('=').bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            other => panic!("not base32: {}", other as char),
        };
        buffer = (buffer << 5) | value as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            key.push((buffer >> bits) as u8);
        }
    }
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap();
    mac.update(&((unix / 30) as u64).to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = (hash[19] & 0x0f) as usize;
    let number = u32::from_be_bytes(hash[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
    format!("{:06}", number % 1_000_000)
}
