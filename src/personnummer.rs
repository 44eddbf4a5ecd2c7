//! Swedish personal identity numbers (personnummer) and coordination numbers
//! (samordningsnummer): parsing and validation. Pure: no I/O.
//!
//! Accepted forms: `YYMMDD-NNNC`, `YYMMDD+NNNC` (the `+` marks someone aged 100 or more),
//! `YYMMDDNNNC`, `YYYYMMDD-NNNC` and `YYYYMMDDNNNC`. A coordination number has 60 added to the
//! day. The last digit is a Luhn check digit over the ten-digit form.
//!
//! The value is identifying: its `Debug` form is redacted so it cannot end up in a log by accident.

use chrono::{Datelike, NaiveDate};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Personnummer,
    Samordningsnummer,
}

/// A valid personnummer or samordningsnummer.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PersonalNumber {
    /// Twelve digits, `YYYYMMDDNNNC`.
    digits: String,
    kind: Kind,
    birth_date: NaiveDate,
}

impl std::fmt::Debug for PersonalNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PersonalNumber(<redacted>)")
    }
}

/// What is wrong with a typed number; each has its own message in Swedish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    Characters,
    Length,
    PlusWithCentury,
    Month,
    Day,
    Future,
    CheckDigit,
}

impl Problem {
    pub fn message(self) -> &'static str {
        match self {
            Problem::Characters => {
                "Personnumret får bara innehålla siffror och ett bindestreck (eller plustecken)."
            }
            Problem::Length => {
                "Skriv personnumret med 10 eller 12 siffror, till exempel 20150314-1234."
            }
            Problem::PlusWithCentury => {
                "Plustecknet används bara med 10 siffror. Skriv 12 siffror med bindestreck i stället."
            }
            Problem::Month => "Månaden i personnumret finns inte. Kontrollera siffrorna för månad.",
            Problem::Day => "Dagen i personnumret finns inte i den månaden. Kontrollera siffrorna för dag.",
            Problem::Future => "Födelsedatumet i personnumret ligger i framtiden.",
            Problem::CheckDigit => {
                "Sista siffran (kontrollsiffran) stämmer inte. Kontrollera att alla siffror är rätt."
            }
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl PersonalNumber {
    /// Parses and checks `input`; `today` decides the century of a ten-digit number.
    pub fn parse(input: &str, today: NaiveDate) -> Result<Self, Problem> {
        let text: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        if !text
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '+')
        {
            return Err(Problem::Characters);
        }
        let separators: Vec<(usize, char)> = text
            .char_indices()
            .filter(|(_, c)| !c.is_ascii_digit())
            .collect();
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let plus = match separators.as_slice() {
            [] => false,
            [(at, sep)] if text.len().checked_sub(5) == Some(*at) => *sep == '+',
            _ => return Err(Problem::Characters),
        };
        let (century, short) = match digits.len() {
            10 => (None, digits.clone()),
            12 if plus => return Err(Problem::PlusWithCentury),
            12 => (
                Some(digits[..2].parse::<i32>().expect("digits")),
                digits[2..].to_string(),
            ),
            _ => return Err(Problem::Length),
        };
        let number = |range: std::ops::Range<usize>| short[range].parse::<u32>().expect("digits");
        let (yy, month, day) = (number(0..2) as i32, number(2..4), number(4..6));
        if !(1..=12).contains(&month) {
            return Err(Problem::Month);
        }
        let (kind, day) = if day > 60 {
            (Kind::Samordningsnummer, day - 60)
        } else {
            (Kind::Personnummer, day)
        };
        let year = match century {
            Some(c) => c * 100 + yy,
            None => {
                let mut year = today.year() / 100 * 100 + yy;
                // The latest year ending in YY whose date is not after today...
                let after_today =
                    NaiveDate::from_ymd_opt(year, month, day.max(1)).is_none_or(|d| d > today);
                if year > today.year() || (year == today.year() && after_today) {
                    year -= 100;
                }
                // ...and a hundred years earlier for someone marked with +.
                if plus {
                    year -= 100;
                }
                year
            }
        };
        let birth_date = NaiveDate::from_ymd_opt(year, month, day).ok_or(Problem::Day)?;
        if birth_date > today {
            return Err(Problem::Future);
        }
        if luhn(&short[..9]) != number(9..10) {
            return Err(Problem::CheckDigit);
        }
        Ok(Self {
            digits: format!("{year:04}{}", &short[2..]),
            kind,
            birth_date,
        })
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// The canonical form, `YYYYMMDD-NNNC`, as stored and shown.
    pub fn canonical(&self) -> String {
        format!("{}-{}", &self.digits[..8], &self.digits[8..])
    }
}

/// The Luhn check digit of a run of digits.
fn luhn(digits: &str) -> u32 {
    let sum: u32 = digits
        .chars()
        .map(|c| c.to_digit(10).expect("digits"))
        .enumerate()
        .map(|(i, d)| {
            let p = if i % 2 == 0 { d * 2 } else { d };
            p / 10 + p % 10
        })
        .sum();
    (10 - sum % 10) % 10
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn parse(s: &str) -> Result<PersonalNumber, Problem> {
        PersonalNumber::parse(s, today())
    }

    /// Builds a valid ten-digit number from nine digits by adding the check digit.
    fn with_check(nine: &str) -> String {
        format!("{nine}{}", luhn(nine))
    }

    #[test]
    fn luhn_matches_known_numbers() {
        // Skatteverket's well-known test person Tolvan Tolvansson, 19121212-1212.
        assert_eq!(luhn("121212121"), 2);
        assert_eq!(luhn("811218987"), 6);
    }

    #[test]
    fn every_accepted_form_is_understood() {
        for (form, expected) in [
            ("19121212-1212", "19121212-1212"),
            ("191212121212", "19121212-1212"),
            (" 19121212 - 1212 ", "19121212-1212"),
            ("121212+1212", "19121212-1212"),
            // Ten digits without +: the latest year ending in 12 that is not in the future.
            ("121212-1212", "20121212-1212"),
            ("1212121212", "20121212-1212"),
        ] {
            assert_eq!(parse(form).unwrap().canonical(), expected, "{form}");
        }
    }

    #[test]
    fn century_is_worked_out_from_today() {
        let child = with_check("150314123");
        let n = parse(&format!("{}-{}", &child[..6], &child[6..])).unwrap();
        assert_eq!(
            n.birth_date(),
            NaiveDate::from_ymd_opt(2015, 3, 14).unwrap()
        );
        // Born later this year than today: last century.
        let late = with_check("261224123");
        assert_eq!(parse(&late).unwrap().birth_date().year(), 1926);
        // Born earlier this year: this year.
        let early = with_check("260101123");
        assert_eq!(parse(&early).unwrap().birth_date().year(), 2026);
        // + means a hundred years more.
        let old = with_check("150314123");
        let n = parse(&format!("{}+{}", &old[..6], &old[6..])).unwrap();
        assert_eq!(n.birth_date().year(), 1915);
    }

    #[test]
    fn samordningsnummer_has_sixty_added_to_the_day() {
        let n = parse(&format!("20{}", with_check("150374123"))).unwrap();
        assert_eq!(n.kind(), Kind::Samordningsnummer);
        assert_eq!(
            n.birth_date(),
            NaiveDate::from_ymd_opt(2015, 3, 14).unwrap()
        );
        assert_eq!(
            n.canonical(),
            format!("20150374-{}", &with_check("150374123")[6..])
        );
    }

    #[test]
    fn each_mistake_has_its_own_message() {
        let cases = [
            ("20150314-12a4", Problem::Characters),
            ("2015-0314-1234", Problem::Characters),
            ("201503141", Problem::Length),
            ("2015031412345", Problem::Length),
            ("20150314+1234", Problem::PlusWithCentury),
            (&format!("20{}", with_check("151314123")), Problem::Month),
            (&format!("20{}", with_check("150230123")), Problem::Day),
            (&format!("20{}", with_check("150300123")), Problem::Day),
            (&format!("20{}", with_check("150392123")), Problem::Day),
            (&format!("20{}", with_check("301224123")), Problem::Future),
            ("19121212-1213", Problem::CheckDigit),
            // Found by fuzzing: a separator in a text shorter than five characters.
            ("+", Problem::Characters),
            ("1-2", Problem::Characters),
        ];
        for (input, problem) in cases {
            assert_eq!(parse(input), Err(problem), "{input}");
        }
        let messages: std::collections::HashSet<&str> =
            cases.iter().map(|(_, p)| p.message()).collect();
        assert_eq!(messages.len(), 7, "one message per kind of mistake");
    }

    #[test]
    fn leap_days() {
        assert!(parse(&format!("20{}", with_check("160229123"))).is_ok());
        assert_eq!(
            parse(&format!("20{}", with_check("150229123"))),
            Err(Problem::Day)
        );
    }

    #[test]
    fn debug_does_not_reveal_the_number() {
        let n = parse("19121212-1212").unwrap();
        assert_eq!(format!("{n:?}"), "PersonalNumber(<redacted>)");
    }
}
