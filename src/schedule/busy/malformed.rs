//! Why a calendar file could not be read.

use std::fmt;

use crate::schedule::budget::{Budget, TOO_BIG};

/// Why a calendar file could not be read, in Swedish, with the line where that is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    pub line: Option<usize>,
    pub reason: String,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(n) => write!(f, "rad {n}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

pub(super) fn malformed(line: Option<usize>, reason: impl Into<String>) -> Malformed {
    Malformed {
        line,
        reason: reason.into(),
    }
}

/// The refusal when the budget is spent.
pub(super) fn check(budget: &Budget) -> Result<(), Malformed> {
    match budget.stopped_by() {
        Some(_) => Err(malformed(None, TOO_BIG)),
        None => Ok(()),
    }
}
