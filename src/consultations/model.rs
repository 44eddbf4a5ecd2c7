//! What a consultation (konsultation) holds, and the rule that makes it one: the child is not
//! named. Pure: no I/O.
//!
//! A professional may ask social services about a worry without naming the child. The form asks
//! only for the situation in their own words, the child's age and the school or unit; anything
//! that looks like a personnummer or a name is refused with an explanation, so that a
//! consultation cannot become an unregistered report about a named child. The check is a
//! heuristic (see [`identifying`]): it catches the usual ways a name or number is written, not
//! every one, and the form says plainly what not to write.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// The longest situation text.
pub const MAX_SITUATION: usize = 10_000;
/// The longest answer.
pub const MAX_ANSWER: usize = 10_000;
const MAX_UNIT: usize = 200;
/// A child is under 18.
pub const MAX_AGE: i64 = 17;

/// A consultation as typed in the form or sent to the API.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ConsultationInput {
    /// The municipality whose social services are asked; the asker's own when left out.
    #[serde(default)]
    pub municipality_id: String,
    /// The situation, in the asker's own words, without the child's name or personnummer.
    #[serde(default)]
    pub situation: String,
    /// The child's age in whole years (0–17).
    pub child_age: Option<i64>,
    /// The school, preschool or unit, e.g. `Ekbackens skola, åk 3`.
    #[serde(default)]
    pub unit: String,
}

/// A checked consultation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidConsultation {
    /// Empty: the asker's own municipality.
    pub municipality_id: String,
    pub situation: String,
    pub child_age: i32,
    pub unit: String,
}

/// What an intake officer answers.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct AnswerInput {
    /// The answer, in plain words.
    #[serde(default)]
    pub answer: String,
    /// Whether this should be a report: the asker is then offered to make it one.
    pub should_report: Option<bool>,
}

/// A checked answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidAnswer {
    pub answer: String,
    pub should_report: bool,
}

/// What was found that identifies a child, and so may not be in a consultation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identifying {
    /// Ten or twelve digits shaped like a personnummer or samordningsnummer.
    PersonalNumber,
    /// Words that look like a person's name, as written.
    Name(String),
}

impl Identifying {
    pub fn message(&self) -> String {
        match self {
            Identifying::PersonalNumber => "Texten innehåller något som ser ut som ett personnummer. \
                En konsultation görs utan att barnet kan identifieras: ta bort numret. \
                Vill du anmäla med barnets uppgifter, gör en orosanmälan i stället."
                .into(),
            Identifying::Name(words) => format!(
                "\u{201d}{words}\u{201d} ser ut som ett namn. En konsultation görs utan att barnet kan \
                 identifieras: skriv till exempel \u{201d}eleven\u{201d}, \u{201d}barnet\u{201d} eller \
                 \u{201d}mamman\u{201d} i stället för namn. Vill du anmäla med barnets uppgifter, gör en \
                 orosanmälan i stället."
            ),
        }
    }
}

/// Checks a consultation: the situation and the unit are there and identify no one, and the age
/// is a child's.
pub fn validate(input: &ConsultationInput) -> Result<ValidConsultation, Vec<FieldError>> {
    let mut errors = Vec::new();
    let situation = input.situation.trim().to_string();
    if situation.is_empty() {
        errors.push(FieldError::new(
            "situation",
            "Beskriv situationen: vad har du sett eller hört, och vad undrar du över?",
        ));
    } else if situation.chars().count() > MAX_SITUATION {
        errors.push(FieldError::new(
            "situation",
            format!("Högst {MAX_SITUATION} tecken."),
        ));
    } else if let Some(found) = identifying(&situation, true) {
        errors.push(FieldError::new("situation", found.message()));
    }
    let child_age = match input.child_age {
        Some(age) if (0..=MAX_AGE).contains(&age) => age as i32,
        Some(_) => {
            errors.push(FieldError::new(
                "child_age",
                "Skriv barnets ålder i hela år, från 0 till 17.",
            ));
            0
        }
        None => {
            errors.push(FieldError::new(
                "child_age",
                "Skriv hur gammalt barnet är, i hela år (0 för under ett år).",
            ));
            0
        }
    };
    let unit = input.unit.trim().to_string();
    if unit.is_empty() {
        errors.push(FieldError::new(
            "unit",
            "Skriv vilken skola, förskola eller enhet barnet går på.",
        ));
    } else if unit.chars().count() > MAX_UNIT {
        errors.push(FieldError::new("unit", format!("Högst {MAX_UNIT} tecken.")));
    } else if crate::input::has_control(&unit) {
        errors.push(FieldError::new("unit", crate::input::NAME_CONTROL_MESSAGE));
    } else if let Some(found) = identifying(&unit, false) {
        errors.push(FieldError::new("unit", found.message()));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ValidConsultation {
        municipality_id: input.municipality_id.trim().to_string(),
        situation,
        child_age,
        unit,
    })
}

/// Checks an answer.
pub fn validate_answer(input: &AnswerInput) -> Result<ValidAnswer, Vec<FieldError>> {
    let mut errors = Vec::new();
    let answer = input.answer.trim().to_string();
    if answer.is_empty() {
        errors.push(FieldError::new("answer", "Skriv ditt svar."));
    } else if answer.chars().count() > MAX_ANSWER {
        errors.push(FieldError::new(
            "answer",
            format!("Högst {MAX_ANSWER} tecken."),
        ));
    }
    if input.should_report.is_none() {
        errors.push(FieldError::new(
            "should_report",
            "Svara ja eller nej: bör det här bli en orosanmälan?",
        ));
    }
    match (input.should_report, errors.is_empty()) {
        (Some(should_report), true) => Ok(ValidAnswer {
            answer,
            should_report,
        }),
        _ => Err(errors),
    }
}

/// The first thing in `text` that identifies a person: a personnummer-shaped number, or words
/// that look like a name. Names are looked for as a word after "heter", "kallas" or "namn(et)";
/// and, when `free_text` (the situation, not the unit, where a school's name belongs), as two
/// capitalised words in a row ("Kim Andersson") or one of the most common Swedish first names.
pub fn identifying(text: &str, free_text: bool) -> Option<Identifying> {
    if has_personal_number_shape(text) {
        return Some(Identifying::PersonalNumber);
    }
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphabetic() || c == '-'))
        .filter(|w| !w.is_empty())
        .collect();
    for pair in words.windows(2) {
        let cue = pair[0].to_lowercase();
        if matches!(
            cue.as_str(),
            "heter" | "kallas" | "namn" | "namnet" | "hette"
        ) && is_capitalised(pair[1])
        {
            return Some(Identifying::Name(pair[1].to_string()));
        }
    }
    // "namnet är Kim": the cue two words before.
    for triple in words.windows(3) {
        if matches!(triple[0].to_lowercase().as_str(), "namnet" | "namn")
            && matches!(triple[1], "är" | "var")
            && is_capitalised(triple[2])
        {
            return Some(Identifying::Name(triple[2].to_string()));
        }
    }
    if !free_text {
        return None;
    }
    // Two capitalised words in a row, within one sentence and without punctuation between them;
    // not a small word that starts a sentence before a place's name ("På Ekbackens skola").
    let mut previous: Option<&str> = None;
    for token in text.split_whitespace() {
        let word = token.trim_matches(|c: char| !(c.is_alphabetic() || c == '-'));
        let ends_clause = token.ends_with(['.', ',', ';', ':', '!', '?', ')']);
        match previous {
            Some(first) if is_capitalised(word) => {
                return Some(Identifying::Name(format!("{first} {word}")));
            }
            _ => {}
        }
        let starts_sentence_only = SENTENCE_WORDS.contains(&word.to_lowercase().as_str());
        previous = (is_capitalised(word) && !ends_clause && !starts_sentence_only).then_some(word);
    }
    words
        .iter()
        .find(|w| COMMON_FIRST_NAMES.contains(w))
        .map(|w| Identifying::Name(w.to_string()))
}

/// A word written like a name: a capital letter, then at least one small letter and only small
/// letters (each part of a double name such as "Anna-Karin" alike). "BUP" and "I" are not.
fn is_capitalised(word: &str) -> bool {
    !word.is_empty()
        && word.split('-').all(|part| {
            let mut chars = part.chars();
            matches!(chars.next(), Some(c) if c.is_uppercase())
                && part.chars().count() >= 2
                && chars.all(char::is_lowercase)
        })
}

/// Whether `text` holds ten or twelve digits written as a personnummer is: `YYMMDD-NNNN`,
/// `YYYYMMDD-NNNN`, `+` for `-`, or no separator, with a month and a day (or a samordningsnummer's
/// day, plus 60) that can be.
pub fn has_personal_number_shape(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() || (i > 0 && chars[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        // A run of digits with at most one separator inside it.
        let mut digits = String::new();
        let mut separator_at = None;
        let mut j = i;
        while j < chars.len() {
            let c = chars[j];
            if c.is_ascii_digit() {
                digits.push(c);
            } else if matches!(c, '-' | '+' | ' ')
                && separator_at.is_none()
                && chars.get(j + 1).is_some_and(char::is_ascii_digit)
            {
                separator_at = Some(digits.len());
            } else {
                break;
            }
            j += 1;
        }
        let shaped = match (digits.len(), separator_at) {
            (10, None | Some(6)) => plausible_date(&digits[2..4], &digits[4..6]),
            (12, None | Some(8)) => plausible_date(&digits[4..6], &digits[6..8]),
            _ => false,
        };
        if shaped {
            return true;
        }
        i = j.max(i + 1);
    }
    false
}

fn plausible_date(month: &str, day: &str) -> bool {
    let (Ok(month), Ok(day)) = (month.parse::<u32>(), day.parse::<u32>()) else {
        return false;
    };
    (1..=12).contains(&month) && ((1..=31).contains(&day) || (61..=91).contains(&day))
}

/// Small words that start a sentence with a capital and may come before a name of a place or an
/// organisation ("Enligt Skolverket", "På Ekbackens skola"): not the first half of a name.
const SENTENCE_WORDS: &[&str] = &[
    "på", "i", "enligt", "från", "till", "hos", "med", "efter", "inför", "sedan", "vid", "mellan",
    "under", "om", "när", "då", "hon", "han", "hen", "vi", "jag", "de", "det", "den", "denna",
    "detta", "och", "men", "eller", "som", "att", "en", "ett", "av", "för", "mot", "utan", "genom",
    "inom", "bland", "även", "också", "nu", "igår", "idag",
];

/// The most common first names of children and parents in Sweden (SCB's name statistics),
/// written as names are: found anywhere in the situation, they are refused. Names that are also
/// ordinary Swedish words (Per, Saga, Bo) are left out.
const COMMON_FIRST_NAMES: &[&str] = &[
    "Alice", "Maja", "Vera", "Elsa", "Astrid", "Alma", "Selma", "Ella", "Olivia", "Wilma", "Ebba",
    "Freja", "Stella", "Alva", "Ellen", "Signe", "Agnes", "Clara", "Leah", "Ines", "Lilly", "Nora",
    "Juni", "Elvira", "Tyra", "Edith", "Elise", "Ester", "Lova", "Meja", "Noah", "William", "Hugo",
    "Liam", "Lucas", "Oscar", "Elias", "Adam", "Matteo", "Nils", "Olle", "Ludvig", "Leo", "Axel",
    "Theo", "Isak", "Viggo", "Vincent", "Harry", "Oliver", "Frans", "Sixten", "Alfred", "Arvid",
    "Gustav", "Malte", "Melvin", "Love", "Charlie", "Anna", "Eva", "Maria", "Karin", "Sara",
    "Lena", "Kerstin", "Emma", "Malin", "Jenny", "Erik", "Lars", "Karl", "Johan", "Anders",
    "Mikael", "Peter", "Fredrik", "Daniel", "Andreas", "Mohammed", "Muhammad", "Ali", "Ahmed",
    "Fatima", "Yusuf", "Omar", "Hassan", "Amir", "Zainab",
];

#[cfg(test)]
mod tests;
