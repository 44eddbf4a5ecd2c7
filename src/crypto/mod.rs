//! Sealed values: the child's identity, the free text of reports and plans, and other secrets kept
//! in the database are encrypted at rest (issue 7).
//!
//! A sealed value is stored as text, `enc1:<key id>:<base64url(nonce ‖ ciphertext)>`, sealed with
//! XChaCha20-Poly1305 under a random 24-byte nonce. The associated data is the column's name
//! (`report_children.name`), so a value moved to another column no longer opens.
//!
//! A [`Keyring`] holds one current key, which seals, and any number of older keys, which still
//! open; `samordna keys rotate` re-seals what an older key sealed, after which that key can be
//! removed. It also holds the key of the blind index: a keyed hash of the personnummer that finds
//! earlier reports about the same child without opening every row.
//!
//! A value without the `enc1:` prefix was stored before encryption was built (a legacy plaintext):
//! it is read as it stands, so an older database keeps working, and the rotation re-seals it.
//!
//! Which columns are sealed is said once per table, with [`sealed_row!`](crate::sealed_row), in
//! [`rows`].

pub mod rows;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What every sealed value starts with (version 1 of the format).
pub const PREFIX: &str = "enc1:";
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;
/// The key id a key derived from the secret key gets (development, and the embedded default).
pub const DERIVED_KEY_ID: &str = "s0";

#[derive(Clone)]
struct DataKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

/// The keys that seal and open values, and the key of the blind index.
#[derive(Clone)]
pub struct Keyring {
    /// The first one seals; all of them open.
    data: Vec<DataKey>,
    index: [u8; KEY_LEN],
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.data.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Keyring")
            .field("data_keys", &ids)
            .finish_non_exhaustive()
    }
}

/// Why a stored value could not be opened. It names the column and the key id, never the value.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("a sealed value in {column} (key {key_id}) cannot be opened: {problem}")]
pub struct OpenError {
    pub column: String,
    /// The key id as stored, or `?` when it is missing or not a key id.
    pub key_id: String,
    pub problem: &'static str,
}

impl From<OpenError> for crate::error::AppError {
    fn from(e: OpenError) -> Self {
        crate::error::AppError::internal(e)
    }
}

fn valid_key_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 16
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

pub(crate) fn decode_key(text: &str) -> Result<[u8; KEY_LEN], String> {
    let bytes = STANDARD.decode(text.trim()).map_err(|_| {
        "the key is not base64 (make one with: openssl rand -base64 32)".to_string()
    })?;
    <[u8; KEY_LEN]>::try_from(bytes.as_slice()).map_err(|_| {
        format!(
            "a key must be {KEY_LEN} bytes, this one is {} (make one with: openssl rand -base64 32)",
            bytes.len()
        )
    })
}

pub(crate) fn derive(secret: &[u8], purpose: &str) -> [u8; KEY_LEN] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().into()
}

impl Keyring {
    /// Data keys as `(id, key)`, the first one current, and the index key.
    pub fn new(data: Vec<(String, [u8; KEY_LEN])>, index: [u8; KEY_LEN]) -> Result<Self, String> {
        if data.is_empty() {
            return Err("at least one key is needed".into());
        }
        let mut keys: Vec<DataKey> = Vec::with_capacity(data.len());
        for (id, key) in data {
            if !valid_key_id(&id) {
                return Err(format!(
                    "{id:?} is not a key id: use 1 to 16 lowercase letters a-z and digits"
                ));
            }
            if keys.iter().any(|k| k.id == id) {
                return Err(format!("the key id {id:?} is given twice"));
            }
            keys.push(DataKey {
                id,
                cipher: XChaCha20Poly1305::new(&key.into()),
            });
        }
        Ok(Self { data: keys, index })
    }

    /// Data keys from `SAMORDNA_DATA_KEYS` (`id:base64key,id:base64key`, the first seals). A bare
    /// `s0` stands for the key derived from `secret` (what sealed the data while no keys were
    /// configured), so that data sealed under it can be rotated to configured keys.
    pub fn parse_data_keys(
        text: &str,
        secret: &[u8],
    ) -> Result<Vec<(String, [u8; KEY_LEN])>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                if part == DERIVED_KEY_ID {
                    return Ok(Self::derived_data_key(secret));
                }
                let (id, key) = part.split_once(':').ok_or_else(|| {
                    "each key is written as id:base64key, e.g. k2026:<openssl rand -base64 32> \
                     (or s0 alone for the key derived from the secret key)"
                        .to_string()
                })?;
                let key = decode_key(key).map_err(|e| format!("key {:?}: {e}", id.trim()))?;
                Ok((id.trim().to_string(), key))
            })
            .collect()
    }

    /// The index key from `SAMORDNA_INDEX_KEY` (base64, 32 bytes).
    pub fn parse_index_key(text: &str) -> Result<[u8; KEY_LEN], String> {
        decode_key(text)
    }

    /// A data key (id [`DERIVED_KEY_ID`]) derived from the secret key, for when none is configured.
    pub fn derived_data_key(secret: &[u8]) -> (String, [u8; KEY_LEN]) {
        (
            DERIVED_KEY_ID.to_string(),
            derive(secret, "samordna data key v1"),
        )
    }

    /// An index key derived from the secret key, for when none is configured.
    pub fn derived_index_key(secret: &[u8]) -> [u8; KEY_LEN] {
        derive(secret, "samordna blind index key v1")
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        &self.data[0].id
    }

    /// Seals `plain` for `column` under the current key.
    pub fn seal(&self, column: &str, plain: &str) -> String {
        let key = &self.data[0];
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: column.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 seals any length a database holds");
        let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        format!("{PREFIX}{}:{}", key.id, URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Opens a stored value of `column`. A value without the `enc1:` prefix is a legacy plaintext
    /// and is returned as it stands.
    pub fn open(&self, column: &str, stored: &str) -> Result<String, OpenError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let fail = |key_id: &str, problem: &'static str| OpenError {
            column: column.to_string(),
            key_id: if valid_key_id(key_id) {
                key_id.to_string()
            } else {
                "?".to_string()
            },
            problem,
        };
        let Some((key_id, body)) = rest.split_once(':') else {
            return Err(fail("", "it is not in the form enc1:<key id>:<data>"));
        };
        let Some(key) = self.data.iter().find(|k| k.id == key_id) else {
            return Err(fail(key_id, "no configured key has this id"));
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| fail(key_id, "its data is not base64url"))?;
        if bytes.len() < NONCE_LEN {
            return Err(fail(key_id, "it is too short"));
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let plain = key
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: column.as_bytes(),
                },
            )
            .map_err(|_| {
                fail(
                    key_id,
                    "it fails authentication (wrong key, another column's value, or altered)",
                )
            })?;
        String::from_utf8(plain).map_err(|_| fail(key_id, "it is not UTF-8 text"))
    }

    /// Whether a stored value is sealed under the current key (if not, rotation re-seals it).
    pub fn is_current(&self, stored: &str) -> bool {
        stored
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(id, _)| id == self.current_id())
    }

    /// The blind index of a canonical personnummer (`YYYYMMDD-NNNN`): HMAC-SHA-256 under the
    /// index key, base64url. Equal numbers give equal indexes; nothing else can be read from it.
    pub fn blind_index(&self, canonical_personal_number: &str) -> String {
        crate::secrets::keyed_hash(&self.index, "personnummer", canonical_personal_number)
    }
}

/// A column value that can be sealed: text, or text that may be missing (NULL stays NULL).
pub trait Sealable: Sized {
    fn seal(self, keys: &Keyring, column: &str) -> Self;
    fn open(self, keys: &Keyring, column: &str) -> Result<Self, OpenError>;
    /// Whether rotation must re-seal it.
    fn is_stale(&self, keys: &Keyring) -> bool;
}

impl Sealable for String {
    fn seal(self, keys: &Keyring, column: &str) -> Self {
        keys.seal(column, &self)
    }
    fn open(self, keys: &Keyring, column: &str) -> Result<Self, OpenError> {
        keys.open(column, &self)
    }
    fn is_stale(&self, keys: &Keyring) -> bool {
        !keys.is_current(self)
    }
}

impl Sealable for Option<String> {
    fn seal(self, keys: &Keyring, column: &str) -> Self {
        self.map(|v| keys.seal(column, &v))
    }
    fn open(self, keys: &Keyring, column: &str) -> Result<Self, OpenError> {
        self.map(|v| keys.open(column, &v)).transpose()
    }
    fn is_stale(&self, keys: &Keyring) -> bool {
        self.as_ref().is_some_and(|v| !keys.is_current(v))
    }
}

/// The key that chains the trail (`SAMORDNA_AUDIT_KEY`, 32 bytes). Kept out of the database, so
/// that write access to the database is not enough to rewrite the trail unnoticed.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditKey([u8; 32]);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl AuditKey {
    /// A key written as base64 (`openssl rand -base64 32`), as `SAMORDNA_AUDIT_KEY` holds it.
    pub fn parse(text: &str) -> Result<Self, String> {
        decode_key(text).map(Self)
    }

    /// The key derived from the secret key, for when none is configured.
    pub fn derived(secret: &[u8]) -> Self {
        Self(derive(secret, "samordna audit chain key v1"))
    }

    /// A fresh HMAC-SHA-256 under this key, for an entry's hash (see `audit::Entry::keyed_hash`).
    pub fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("any key length")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring(ids: &[(&str, u8)]) -> Keyring {
        Keyring::new(
            ids.iter()
                .map(|(id, byte)| (id.to_string(), [*byte; KEY_LEN]))
                .collect(),
            [9; KEY_LEN],
        )
        .unwrap()
    }

    const COLUMN: &str = "report_children.name";

    #[test]
    fn round_trip_under_the_current_key() {
        let keys = keyring(&[("a", 1)]);
        let sealed = keys.seal(COLUMN, "Ella Andersson");
        assert!(sealed.starts_with("enc1:a:"), "{sealed}");
        assert!(!sealed.contains("Ella"));
        assert_eq!(keys.open(COLUMN, &sealed).unwrap(), "Ella Andersson");
        let empty = keys.seal(COLUMN, "");
        assert_eq!(keys.open(COLUMN, &empty).unwrap(), "");
        assert!(keys.is_current(&sealed));
    }

    #[test]
    fn every_value_gets_its_own_nonce() {
        let keys = keyring(&[("a", 1)]);
        let values: std::collections::HashSet<String> =
            (0..200).map(|_| keys.seal(COLUMN, "samma")).collect();
        assert_eq!(values.len(), 200);
        let nonces: std::collections::HashSet<Vec<u8>> = values
            .iter()
            .map(|v| URL_SAFE_NO_PAD.decode(&v["enc1:a:".len()..]).unwrap()[..NONCE_LEN].to_vec())
            .collect();
        assert_eq!(nonces.len(), 200);
    }

    #[test]
    fn another_column_does_not_open() {
        let keys = keyring(&[("a", 1)]);
        let sealed = keys.seal(COLUMN, "Ella Andersson");
        let err = keys.open("report_guardians.name", &sealed).unwrap_err();
        assert_eq!(err.column, "report_guardians.name");
        assert_eq!(err.key_id, "a");
        assert!(err.problem.contains("authentication"), "{err}");
    }

    #[test]
    fn tampering_is_found() {
        let keys = keyring(&[("a", 1)]);
        let sealed = keys.seal(COLUMN, "Ella Andersson");
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed["enc1:a:".len()..]).unwrap();
        for i in [0, NONCE_LEN, bytes.len() - 1] {
            let mut altered = bytes.clone();
            altered[i] ^= 1;
            let text = format!("enc1:a:{}", URL_SAFE_NO_PAD.encode(&altered));
            assert!(keys.open(COLUMN, &text).is_err(), "byte {i}");
        }
        bytes.truncate(NONCE_LEN - 1);
        let short = format!("enc1:a:{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(
            keys.open(COLUMN, &short).unwrap_err().problem,
            "it is too short"
        );
        assert!(keys.open(COLUMN, "enc1:a:not base64!").is_err());
        assert_eq!(keys.open(COLUMN, "enc1:nokeyid").unwrap_err().key_id, "?");
    }

    #[test]
    fn unknown_or_wrong_key_fails_and_names_only_column_and_key() {
        let sealed = keyring(&[("a", 1)]).seal(COLUMN, "Ella Andersson");
        let err = keyring(&[("b", 2)]).open(COLUMN, &sealed).unwrap_err();
        assert_eq!(err.key_id, "a");
        assert_eq!(err.problem, "no configured key has this id");
        let text = err.to_string();
        assert!(text.contains(COLUMN) && text.contains("key a"), "{text}");
        assert!(
            !text.contains("Ella") && !text.contains(&sealed[7..]),
            "{text}"
        );
        // The same id with other key material: authentication fails.
        let err = keyring(&[("a", 3)]).open(COLUMN, &sealed).unwrap_err();
        assert!(err.problem.contains("authentication"));
    }

    #[test]
    fn older_keys_open_and_only_the_first_seals() {
        let old = keyring(&[("a", 1)]);
        let sealed_a = old.seal(COLUMN, "Ella");
        let rotated = keyring(&[("b", 2), ("a", 1)]);
        assert_eq!(rotated.open(COLUMN, &sealed_a).unwrap(), "Ella");
        assert!(!rotated.is_current(&sealed_a));
        assert!(sealed_a.is_stale(&rotated));
        let sealed_b = rotated.seal(COLUMN, "Ella");
        assert!(sealed_b.starts_with("enc1:b:"));
        assert!(!Some(sealed_b).is_stale(&rotated));
        assert!(!None::<String>.is_stale(&rotated));
    }

    #[test]
    fn legacy_plaintext_is_read_as_it_stands_and_is_stale() {
        let keys = keyring(&[("a", 1)]);
        assert_eq!(
            keys.open(COLUMN, "Ella Andersson").unwrap(),
            "Ella Andersson"
        );
        assert_eq!(keys.open(COLUMN, "").unwrap(), "");
        assert!("Ella Andersson".to_string().is_stale(&keys));
        assert_eq!(
            Some("20121212-1212".to_string())
                .open(&keys, COLUMN)
                .unwrap(),
            Some("20121212-1212".to_string())
        );
        assert_eq!(None::<String>.seal(&keys, COLUMN), None);
    }

    #[test]
    fn key_configuration_is_checked() {
        let key = STANDARD.encode([7u8; 32]);
        let secret = b"one secret key of enough length!";
        let parsed = Keyring::parse_data_keys(&format!("b:{key}, a:{key}"), secret).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].0, "b");
        // A bare s0 is the derived key, so data sealed under it can be rotated away.
        let with_derived = Keyring::parse_data_keys(&format!("b:{key},s0"), secret).unwrap();
        assert_eq!(with_derived[1], Keyring::derived_data_key(secret));
        assert!(Keyring::parse_data_keys("b", secret).is_err());
        let short = format!("b:{}", STANDARD.encode([7u8; 16]));
        assert!(Keyring::parse_data_keys(&short, secret).is_err());
        assert!(Keyring::parse_data_keys("b:***", secret).is_err());
        assert!(Keyring::new(vec![("B!".into(), [0; 32])], [0; 32]).is_err());
        assert!(Keyring::new(vec![("a".into(), [0; 32]), ("a".into(), [1; 32])], [0; 32]).is_err());
        assert!(Keyring::new(Vec::new(), [0; 32]).is_err());
        let debug = format!("{:?}", keyring(&[("a", 1)]));
        assert!(
            debug.contains("\"a\"") && !debug.contains("[1, 1"),
            "{debug}"
        );
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_secret() {
        let (id, data) = Keyring::derived_data_key(b"one secret key of enough length!");
        assert_eq!(id, DERIVED_KEY_ID);
        assert_ne!(
            data,
            Keyring::derived_index_key(b"one secret key of enough length!")
        );
        assert_ne!(
            data,
            Keyring::derived_data_key(b"another secret key, long enough!").1
        );
    }

    #[test]
    fn the_blind_index_is_stable_and_keyed() {
        let a = keyring(&[("a", 1)]);
        let same_index = keyring(&[("b", 2)]);
        let other = Keyring::new(vec![("a".into(), [1; 32])], [8; 32]).unwrap();
        let n = "20121212-1212";
        assert_eq!(a.blind_index(n), same_index.blind_index(n));
        assert_ne!(a.blind_index(n), other.blind_index(n));
        assert_ne!(a.blind_index(n), a.blind_index("20121212-1213"));
        assert!(!a.blind_index(n).contains("1212"));
    }
}
