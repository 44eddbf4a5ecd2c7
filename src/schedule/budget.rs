//! How much work reading one calendar may cost, as a whole: steps through all its recurrence
//! rules together (its time zones' too), and time. A calendar over the budget is refused as too
//! big, so that a hostile or broken file cannot hold a worker. Pure: no I/O (the clock aside).

/// The largest calendar read, in bytes.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
/// At most this many busy times are read from one calendar within a window.
pub const MAX_INTERVALS: usize = 100_000;
/// At most this many steps through the recurrence rules of one calendar, all rules together:
/// five for every busy time a calendar may have.
pub const MAX_STEPS: usize = 5 * MAX_INTERVALS;
/// At most this long reading one calendar.
pub const MAX_TIME: std::time::Duration = std::time::Duration::from_secs(5);
/// Why a calendar over the [`Budget`] is refused.
pub const TOO_BIG: &str = "kalendern är för stor eller för komplicerad";

/// What stopped a reading that went over its [`Budget`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Steps,
    Time,
}

/// How much work reading one calendar may still take: steps through recurrence rules (and
/// dates listed one by one), and time.
#[derive(Clone, Debug)]
pub struct Budget {
    steps: usize,
    deadline: Option<std::time::Instant>,
    taken: usize,
    stopped: Option<Stop>,
}

impl Budget {
    /// `steps` steps, and `time` from now if given.
    pub fn new(steps: usize, time: Option<std::time::Duration>) -> Self {
        Budget {
            steps,
            deadline: time.map(|t| std::time::Instant::now() + t),
            taken: 0,
            stopped: None,
        }
    }

    /// [`MAX_STEPS`] and [`MAX_TIME`].
    pub fn standard() -> Self {
        Self::new(MAX_STEPS, Some(MAX_TIME))
    }

    /// Takes `n` steps; the clock is read every 1,024 steps and whenever asked with `n == 0`.
    pub(crate) fn take(&mut self, n: usize) -> Result<(), String> {
        if self.stopped.is_none() {
            let before = self.taken;
            self.taken = self.taken.saturating_add(n);
            if self.taken > self.steps {
                self.stopped = Some(Stop::Steps);
            } else if (n == 0 || before >> 10 != self.taken >> 10)
                && self
                    .deadline
                    .is_some_and(|d| std::time::Instant::now() >= d)
            {
                self.stopped = Some(Stop::Time);
            }
        }
        match self.stopped {
            Some(_) => Err(TOO_BIG.into()),
            None => Ok(()),
        }
    }

    /// Steps taken so far.
    pub fn taken(&self) -> usize {
        self.taken
    }

    /// What stopped the reading, if anything did.
    pub fn stopped_by(&self) -> Option<Stop> {
        self.stopped
    }
}
