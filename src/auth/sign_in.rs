//! A limit on wrong sign-ins to the dashboard: at most [`MAX_FAILURES`] in
//! any [`WINDOW`]; past that, every sign-in (even a right one) is refused
//! until the oldest of them is a window old. Guessing the token then takes
//! forever; an operator locked out meanwhile still has the command line.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: usize = 10;
pub const WINDOW: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct SignInLimit {
    failures: Mutex<VecDeque<Instant>>,
}

impl SignInLimit {
    /// `Err(wait)`: no sign-in is taken for `wait` more.
    pub fn check(&self) -> Result<(), Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        while failures.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            failures.pop_front();
        }
        match failures.front() {
            Some(oldest) if failures.len() >= MAX_FAILURES => Err(WINDOW - now.duration_since(*oldest)),
            _ => Ok(()),
        }
    }

    /// Counts a wrong sign-in.
    pub fn failed(&self) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).push_back(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_try_in_a_minute_waits() {
        let limit = SignInLimit::default();
        for _ in 0..MAX_FAILURES {
            assert!(limit.check().is_ok());
            limit.failed();
        }
        let wait = limit.check().unwrap_err();
        assert!(wait > Duration::from_secs(55) && wait <= WINDOW, "{wait:?}");
    }
}
