//! The first pass over a calendar file: every `BEGIN` has its `END`, and only the components the
//! search reads are kept, the rest blanked so that the parser's line numbers still match the file.

use ical::parser::ParserError;
use ical::property::PropertyError;

use super::malformed::{malformed, Malformed};

/// The components parsed; everything else is blanked out (keeping line numbers) before parsing.
const READ: [&str; 6] = [
    "VCALENDAR",
    "VEVENT",
    "VFREEBUSY",
    "VTIMEZONE",
    "STANDARD",
    "DAYLIGHT",
];

pub(super) fn strip_prefix_ignore_case<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    line.get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .map(|_| &line[prefix.len()..])
}

/// Checks that every BEGIN has its END and keeps only the components in [`READ`], with other
/// lines left empty so the parser's line numbers still match the file.
pub(super) fn components_we_read(text: &str) -> Result<String, Malformed> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = String::with_capacity(text.len());
    let mut open: Vec<(String, usize)> = Vec::new();
    // The depth at which a skipped component began.
    let mut skipping: Option<usize> = None;
    let mut calendars = 0;
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let folded = line.starts_with(' ') || line.starts_with('\t');
        let mut keep = skipping.is_none() && !open.is_empty();
        if !folded {
            if let Some(name) = strip_prefix_ignore_case(line, "BEGIN:") {
                let name = name.trim().to_ascii_uppercase();
                calendars += usize::from(name == "VCALENDAR");
                open.push((name.clone(), number));
                if skipping.is_none() && !READ.contains(&name.as_str()) {
                    skipping = Some(open.len());
                }
                keep = skipping.is_none();
            } else if let Some(name) = strip_prefix_ignore_case(line, "END:") {
                let name = name.trim().to_ascii_uppercase();
                match open.pop() {
                    Some((begun, _)) if begun == name => {}
                    Some((begun, at)) => {
                        return Err(malformed(
                            Some(number),
                            format!(
                                "END:{name} kommer före END:{begun} (BEGIN:{begun} på rad {at})"
                            ),
                        ))
                    }
                    None => {
                        return Err(malformed(
                            Some(number),
                            format!("END:{name} utan BEGIN:{name}"),
                        ))
                    }
                }
                if skipping.is_some_and(|depth| open.len() < depth) {
                    skipping = None;
                    keep = false;
                }
            }
        }
        // A line without a colon cannot be a property (Apple Calendar has written
        // `X-APPLE-RADIUS=…`): it is left out rather than refusing the calendar.
        if keep && (folded || line.contains(':')) {
            out.push_str(line.trim_end_matches('\r'));
        }
        out.push('\n');
    }
    if let Some((name, at)) = open.pop() {
        return Err(malformed(
            Some(at),
            format!("BEGIN:{name} avslutas aldrig (END:{name} saknas)"),
        ));
    }
    if calendars == 0 {
        return Err(malformed(
            None,
            "filen är ingen kalender (BEGIN:VCALENDAR saknas)",
        ));
    }
    Ok(out)
}

pub(super) fn unreadable(error: ParserError) -> Malformed {
    match error {
        ParserError::PropertyError(e) => {
            let line = match e {
                PropertyError::MissingName { line }
                | PropertyError::MissingClosingQuote { line }
                | PropertyError::MissingDelimiter { line, .. }
                | PropertyError::MissingContentAfter { line, .. }
                | PropertyError::MissingParamKey { line } => line,
            };
            malformed(Some(line), "raden är ingen giltig kalenderrad")
        }
        _ => malformed(None, "kalenderns delar är felaktigt uppbyggda"),
    }
}
