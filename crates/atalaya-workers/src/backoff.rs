//! Exponential backoff with jitter for failed jobs: the n-th failure waits about
//! `base * 2^(n-1)`, capped, so a flapping peer is not hammered, and the jitter
//! spreads out jobs that failed together so they do not retry in lockstep.

use std::time::Duration;

/// How long to wait before retrying a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failure (before jitter).
    pub base: Duration,
    /// The longest delay, whatever the attempt.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(5),
            cap: Duration::from_secs(3600),
        }
    }
}

impl Backoff {
    /// The delay after failed attempt number `attempt` (1 for the first), given a
    /// uniform random `jitter` in `[0, 1)`: between half and all of the exponential
    /// delay ("equal jitter"), so it never collapses to zero.
    pub fn delay(&self, attempt: i32, jitter: f64) -> Duration {
        let doublings = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(0)
            .min(31);
        let exponential = self.base.saturating_mul(1_u32 << doublings).min(self.cap);
        let half = exponential / 2;
        half + half.mul_f64(jitter.clamp(0.0, 1.0))
    }

    /// [`Backoff::delay`] with jitter from the thread's random generator.
    pub fn delay_for(&self, attempt: i32) -> Duration {
        self.delay(attempt, rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(attempt: i32, jitter: f64, expected_millis: u64) {
        let backoff = Backoff {
            base: Duration::from_secs(5),
            cap: Duration::from_secs(3600),
        };
        assert_eq!(
            backoff.delay(attempt, jitter),
            Duration::from_millis(expected_millis),
            "attempt {attempt}, jitter {jitter}"
        );
    }

    #[test]
    fn doubles_per_attempt_with_equal_jitter_and_a_cap() {
        check(1, 0.0, 2_500);
        check(1, 0.5, 3_750);
        check(2, 0.0, 5_000);
        check(3, 0.0, 10_000);
        check(4, 0.0, 20_000);
        // 5 s * 2^10 is past the one-hour cap.
        check(11, 0.0, 1_800_000);
        check(11, 1.0, 3_600_000);
        check(i32::MAX, 0.0, 1_800_000);
        // Nonsense inputs stay within bounds.
        check(0, 0.0, 2_500);
        check(-3, 2.0, 5_000);
    }

    #[test]
    fn random_delays_stay_between_half_and_all() {
        let backoff = Backoff::default();
        for attempt in 1..20 {
            let delay = backoff.delay_for(attempt);
            let full = backoff.delay(attempt, 1.0);
            assert!(
                delay >= full / 2 && delay <= full,
                "{delay:?} for attempt {attempt}"
            );
        }
    }
}
