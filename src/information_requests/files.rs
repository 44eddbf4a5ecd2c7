//! The files of an answer: the pure rules. Which files are taken (PDF, PNG, JPEG, Word), told by
//! their content and never by their name or the type the browser claims; how large; which names.
//! A refusal names the file and says why, in Swedish.

/// The largest file taken, in bytes (10 MB).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// The most files in one answer.
pub const MAX_FILES: usize = 5;
/// The largest answer request as a whole: every file at its largest, and room for the text and
/// the multipart framing. A request that says it is larger is refused before it is read.
pub const MAX_REQUEST_BYTES: usize = MAX_FILES * MAX_FILE_BYTES + 1024 * 1024;
/// The longest file name, in characters.
pub const MAX_NAME: usize = 200;

/// The kinds of file taken, as told by their content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Pdf,
    Png,
    Jpeg,
    Docx,
    Doc,
}

impl FileKind {
    /// The content type it is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Png => "image/png",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            FileKind::Doc => "application/msword",
        }
    }

    /// The kind whose content type this is (for a stored file).
    pub fn from_content_type(content_type: &str) -> Option<FileKind> {
        [
            FileKind::Pdf,
            FileKind::Png,
            FileKind::Jpeg,
            FileKind::Docx,
            FileKind::Doc,
        ]
        .into_iter()
        .find(|k| k.content_type() == content_type)
    }

    /// In words, for pages.
    pub fn label(self) -> &'static str {
        match self {
            FileKind::Pdf => "PDF",
            FileKind::Png => "PNG-bild",
            FileKind::Jpeg => "JPEG-bild",
            FileKind::Docx | FileKind::Doc => "Word-dokument",
        }
    }
}

/// What the content is, if it is a kind taken (`infer`'s matchers, by magic numbers and, for
/// Word, the document's inner structure).
pub fn kind_of(bytes: &[u8]) -> Option<FileKind> {
    if infer::archive::is_pdf(bytes) {
        Some(FileKind::Pdf)
    } else if infer::image::is_png(bytes) {
        Some(FileKind::Png)
    } else if infer::image::is_jpeg(bytes) {
        Some(FileKind::Jpeg)
    } else if infer::doc::is_docx(bytes) {
        Some(FileKind::Docx)
    } else if infer::doc::is_doc(bytes) {
        Some(FileKind::Doc)
    } else {
        None
    }
}

/// Why a file name is refused, if it is: empty, too long, or carrying a path or control bytes
/// (`/`, `\`, `..`, NUL and other control characters).
pub fn name_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some("Filen saknar namn. Byt namn på filen och försök igen.".into());
    }
    if name
        .chars()
        .any(|c| c == '/' || c == '\\' || c.is_control())
        || name.contains("..")
    {
        return Some(format!(
            "Filnamnet ”{}” går inte att ta emot: det får inte innehålla /, \\, .. eller \
             kontrolltecken. Byt namn på filen och försök igen.",
            printable(name)
        ));
    }
    if name.chars().count() > MAX_NAME {
        return Some(format!(
            "Filnamnet är för långt (högst {MAX_NAME} tecken). Byt namn på filen och försök igen."
        ));
    }
    None
}

/// A name as it may be shown in a message: control characters left out, at most 80 characters.
fn printable(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(80).collect()
}

/// A file as received: its name, and its bytes unless it was larger than [`MAX_FILE_BYTES`]
/// (then they were not kept).
#[derive(Clone, Debug, Default)]
pub struct RawFile {
    pub name: String,
    pub bytes: Vec<u8>,
    pub too_large: bool,
}

/// A file that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedFile {
    pub name: String,
    pub kind: FileKind,
    pub bytes: Vec<u8>,
}

/// Checks one file: its name, its size (not empty, at most 10 MB) and its content's type.
pub fn check(file: RawFile) -> Result<CheckedFile, String> {
    if let Some(problem) = name_problem(&file.name) {
        return Err(problem);
    }
    let name = file.name.trim().to_string();
    if file.too_large || file.bytes.len() > MAX_FILE_BYTES {
        return Err(format!(
            "Filen ”{}” är större än 10 MB. Skicka en mindre fil, eller dela upp den.",
            printable(&name)
        ));
    }
    if file.bytes.is_empty() {
        return Err(format!(
            "Filen ”{}” är tom. Välj filen igen.",
            printable(&name)
        ));
    }
    match kind_of(&file.bytes) {
        Some(kind) => Ok(CheckedFile {
            name,
            kind,
            bytes: file.bytes,
        }),
        None => Err(format!(
            "Filen ”{}” är inte en PDF, en bild (PNG eller JPEG) eller ett Word-dokument. \
             Spara den som PDF och försök igen.",
            printable(&name)
        )),
    }
}

/// A `Content-Disposition: attachment` value for `name` that no name can break out of: an ASCII
/// fallback in `filename` (anything else as `_`) and the name itself in `filename*`
/// (RFC 6266 / RFC 8187, UTF-8, percent-encoded).
pub fn attachment_header(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ' | '(' | ')') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
    const PNG: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D,
    ];
    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];

    fn raw(name: &str, bytes: &[u8]) -> RawFile {
        RawFile {
            name: name.into(),
            bytes: bytes.to_vec(),
            too_large: false,
        }
    }

    #[test]
    fn pdf_and_images_are_told_by_their_content() {
        assert_eq!(check(raw("svar.pdf", PDF)).unwrap().kind, FileKind::Pdf);
        assert_eq!(check(raw("bild.png", PNG)).unwrap().kind, FileKind::Png);
        // The name says nothing: a JPEG called .pdf is a JPEG.
        let jpeg = check(raw("foto.pdf", JPEG)).unwrap();
        assert_eq!(jpeg.kind, FileKind::Jpeg);
        assert_eq!(jpeg.kind.content_type(), "image/jpeg");
    }

    #[test]
    fn other_content_is_refused_whatever_its_name() {
        for bytes in [
            &b"<html><script>alert(1)</script>"[..],
            b"MZ\x90\x00\x03\x00\x00\x00",
            b"plain text",
            b"PK\x03\x04not really a document",
        ] {
            let problem = check(raw("svar.pdf", bytes)).unwrap_err();
            assert!(problem.contains("inte en PDF"), "{problem}");
        }
    }

    #[test]
    fn empty_too_large_and_path_names_are_refused() {
        assert!(check(raw("svar.pdf", b"")).unwrap_err().contains("är tom"));
        let big = RawFile {
            name: "stor.pdf".into(),
            too_large: true,
            ..RawFile::default()
        };
        assert!(check(big).unwrap_err().contains("större än 10 MB"));
        for name in [
            "../svar.pdf",
            "a/b.pdf",
            "a\\b.pdf",
            "svar\0.pdf",
            "svar\n.pdf",
            "..",
            " ",
        ] {
            assert!(check(raw(name, PDF)).is_err(), "{name:?}");
        }
        assert!(check(raw(&"a".repeat(MAX_NAME + 1), PDF)).is_err());
        assert!(check(raw("Åsa är på väg (1).pdf", PDF)).is_ok());
    }

    /// A property test over many generated files (the `upload_file` fuzz target does the same
    /// without bounds): the check never panics, and what it accepts has a kind taken, is not
    /// empty, and has a name with no path or control character.
    #[test]
    fn generated_files_are_accepted_only_when_every_rule_holds() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(19);
        let starts: [&[u8]; 6] = [PDF, PNG, JPEG, b"PK\x03\x04", b"\xD0\xCF\x11\xE0", b""];
        let letters: Vec<char> = "ab./\\\0\n åä-_".chars().collect();
        let mut accepted = 0;
        for _ in 0..20_000 {
            let name: String = (0..rng.gen_range(0..12))
                .map(|_| letters[rng.gen_range(0..letters.len())])
                .collect();
            let mut bytes = starts[rng.gen_range(0..starts.len())].to_vec();
            bytes.truncate(rng.gen_range(0..=bytes.len()));
            let extra = rng.gen_range(0..64);
            bytes.extend((0..extra).map(|_| rng.gen::<u8>()));
            let raw = RawFile {
                name: name.clone(),
                bytes: bytes.clone(),
                too_large: false,
            };
            if let Ok(file) = check(raw) {
                accepted += 1;
                assert!(!file.bytes.is_empty());
                assert_eq!(kind_of(&file.bytes), Some(file.kind));
                assert!(name_problem(&file.name).is_none(), "{name:?}");
                assert!(!file.name.contains('/') && !file.name.contains('\\'));
                assert!(!file.name.contains("..") && !file.name.chars().any(char::is_control));
                let header = attachment_header(&file.name);
                assert!(!header.contains('\n') && !header.contains('\r'));
            }
        }
        assert!(
            accepted > 100,
            "the generator reaches accepted files: {accepted}"
        );
    }

    #[test]
    fn the_attachment_header_encodes_any_name_safely() {
        let header = attachment_header("Svar \"x\"; åäö.pdf");
        assert_eq!(
            header,
            "attachment; filename=\"Svar _x__ ___.pdf\"; \
             filename*=UTF-8''Svar%20%22x%22%3B%20%C3%A5%C3%A4%C3%B6.pdf"
        );
        assert!(!attachment_header("a\r\nSet-Cookie: x").contains('\n'));
    }
}
