//! A file of an answer to an information request (src/information_requests/files.rs): its name
//! and bytes as the multipart reader hands them on. The check must never panic; what it accepts
//! must be one of the kinds taken, at most 10 MB, not empty, with a name that carries no path or
//! control character; and the download header made from an accepted name must hold no line break
//! and no quote inside the ASCII fallback.
#![no_main]

use libfuzzer_sys::fuzz_target;
use samordna::information_requests::files::{attachment_header, check, kind_of, RawFile};

fuzz_target!(|data: &[u8]| {
    // The first line is the name, the rest the content.
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let name = String::from_utf8_lossy(&data[..split]).into_owned();
    let bytes = data.get(split + 1..).unwrap_or_default().to_vec();
    let raw = RawFile {
        name: name.clone(),
        bytes: bytes.clone(),
        too_large: false,
    };
    if let Ok(file) = check(raw) {
        assert!(!file.bytes.is_empty());
        assert_eq!(kind_of(&file.bytes), Some(file.kind));
        assert!(!file.name.contains('/') && !file.name.contains('\\') && !file.name.contains(".."));
        assert!(!file.name.chars().any(char::is_control));
        let header = attachment_header(&file.name);
        assert!(!header.contains('\r') && !header.contains('\n'));
        let fallback = header
            .strip_prefix("attachment; filename=\"")
            .and_then(|rest| rest.split_once("\"; filename*=UTF-8''"))
            .map(|(fallback, _)| fallback)
            .expect("the header's form");
        assert!(!fallback.contains('"'));
    }
});
