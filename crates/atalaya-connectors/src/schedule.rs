//! When to poll a source next, and how healthy it looks: pure functions shared by
//! every polling source kind (RSS today, Mastodon and Bluesky next).
//!
//! The interval grows exponentially with consecutive failures up to a cap, and
//! every delay gets ±10% jitter so that hundreds of sources added at the same
//! moment do not poll in lockstep forever.

use std::time::Duration;

/// The longest delay between polls of a failing source (unless its own interval is longer).
pub const MAX_BACKOFF: Duration = Duration::from_secs(6 * 60 * 60);
/// Jitter, as a fraction of the delay, in both directions.
pub const JITTER_RATIO: f64 = 0.10;

/// Consecutive failures after which a source is `Failing` rather than `Degraded`.
pub const FAILING_AFTER: u32 = 3;
/// Consecutive failures after which a source is disabled until someone looks at it
/// (at the 6-hour cap, about a week of failing polls).
pub const DISABLE_AFTER: u32 = 40;

/// The delay before the next poll: `interval · 2^failures`, capped at
/// `max(interval, MAX_BACKOFF)`, then ±[`JITTER_RATIO`] jitter derived from
/// `jitter_seed` (pass a random number; tests pass a fixed one).
pub fn next_poll(interval: Duration, consecutive_failures: u32, jitter_seed: u64) -> Duration {
    let cap = interval.max(MAX_BACKOFF);
    let factor = 2_u32.saturating_pow(consecutive_failures.min(31));
    let base = interval.checked_mul(factor).unwrap_or(cap).min(cap);
    // Map the seed to [-1, 1) through splitmix64 so nearby seeds spread out.
    let unit = (splitmix64(jitter_seed) >> 11) as f64 / (1_u64 << 53) as f64;
    let jitter = (unit * 2.0 - 1.0) * JITTER_RATIO;
    base.mul_f64(1.0 + jitter)
}

fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Health states are the domain's, so the store, the web and this crate agree
/// on one set (`pending` is a source never polled yet).
pub use atalaya_domain::SourceHealth;

/// Something that changes a source's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthEvent {
    PollSucceeded,
    /// A poll failed; `consecutive_failures` counts it.
    PollFailed {
        consecutive_failures: u32,
    },
    DisabledByUser,
    /// Re-enabled: starts again as `Ok` (the failure counter is reset by the caller).
    EnabledByUser,
}

/// The health after `event`. A disabled source stays disabled until a person
/// enables it: a late poll result must not silently revive it.
pub fn next_health(current: SourceHealth, event: HealthEvent) -> SourceHealth {
    match (current, event) {
        (_, HealthEvent::DisabledByUser) => SourceHealth::Disabled,
        (_, HealthEvent::EnabledByUser) => SourceHealth::Ok,
        (SourceHealth::Disabled, _) => SourceHealth::Disabled,
        (_, HealthEvent::PollSucceeded) => SourceHealth::Ok,
        (
            _,
            HealthEvent::PollFailed {
                consecutive_failures,
            },
        ) if consecutive_failures >= DISABLE_AFTER => SourceHealth::Disabled,
        (
            _,
            HealthEvent::PollFailed {
                consecutive_failures,
            },
        ) if consecutive_failures >= FAILING_AFTER => SourceHealth::Failing,
        (_, HealthEvent::PollFailed { .. }) => SourceHealth::Degraded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        fn check(interval_secs: u64, failures: u32, expected_base_secs: u64) {
            for seed in [0, 1, 42, u64::MAX] {
                let delay =
                    next_poll(Duration::from_secs(interval_secs), failures, seed).as_secs_f64();
                let base = expected_base_secs as f64;
                assert!(
                    delay >= base * 0.9 - 0.001 && delay <= base * 1.1 + 0.001,
                    "interval {interval_secs}, failures {failures}, seed {seed}: {delay} not within 10% of {base}"
                );
            }
        }
        check(600, 0, 600);
        check(600, 1, 1_200);
        check(600, 3, 4_800);
        check(600, 10, 21_600);
        check(600, u32::MAX, 21_600);
        check(86_400, 5, 86_400);
    }

    #[test]
    fn jitter_spreads_sources() {
        let delays: std::collections::HashSet<u128> = (0..20)
            .map(|seed| next_poll(Duration::from_secs(600), 0, seed).as_millis())
            .collect();
        assert!(delays.len() > 15, "seeds must give different delays");
        assert_eq!(
            next_poll(Duration::from_secs(600), 0, 7),
            next_poll(Duration::from_secs(600), 0, 7)
        );
    }

    #[test]
    fn health_transitions() {
        use HealthEvent::*;
        use SourceHealth::*;
        fn check(current: SourceHealth, event: HealthEvent, expected: SourceHealth) {
            assert_eq!(
                next_health(current, event),
                expected,
                "{current:?} + {event:?}"
            );
        }
        check(
            Ok,
            PollFailed {
                consecutive_failures: 1,
            },
            Degraded,
        );
        check(
            Degraded,
            PollFailed {
                consecutive_failures: 2,
            },
            Degraded,
        );
        check(
            Degraded,
            PollFailed {
                consecutive_failures: 3,
            },
            Failing,
        );
        check(Failing, PollSucceeded, Ok);
        check(
            Failing,
            PollFailed {
                consecutive_failures: DISABLE_AFTER,
            },
            Disabled,
        );
        check(Disabled, PollSucceeded, Disabled);
        check(Disabled, EnabledByUser, Ok);
        check(Ok, DisabledByUser, Disabled);
        assert_eq!(Failing.as_str(), "failing");
    }
}
