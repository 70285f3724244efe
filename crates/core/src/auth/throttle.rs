//! Per-address throttling of login and password-reset attempts (GCRA, the `governor` crate).
//!
//! Together with the per-account lockout this limits malicious lockout (ASVS 5.0 6.1.1): one
//! address can try at most `per_minute` logins a minute after a burst of `burst`, so it can
//! block at most `per_minute / threshold` accounts a minute, and every attempt is in the login
//! history with its address. Refused attempts are recorded too, but at most
//! `REFUSALS_RECORDED_PER_MINUTE` per address, so a flood of requests cannot become a flood of
//! writes. The state is per server instance and in memory.

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};

/// How many refused attempts of one address a minute reach the login history.
pub const REFUSALS_RECORDED_PER_MINUTE: u32 = 5;

pub struct IpThrottle {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    refusals_recorded: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU32,
}

impl IpThrottle {
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let refusals = NonZeroU32::new(REFUSALS_RECORDED_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: governor::RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
            refusals_recorded: governor::RateLimiter::keyed(Quota::per_minute(refusals)),
            checks: AtomicU32::new(0),
        }
    }

    /// `Err(seconds to wait)` when the address is over its budget.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        if self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(4096)
        {
            self.limiter.retain_recent();
            self.refusals_recorded.retain_recent();
        }
        self.limiter.check_key(&ip).map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }
}

impl IpThrottle {
    /// Whether a refused attempt of this address may still be written to the login history.
    pub fn record_refusal(&self, ip: IpAddr) -> bool {
        self.refusals_recorded.check_key(&ip).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refused_per_address() {
        let t = IpThrottle::new(1, 3);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert!(t.check(a).is_ok());
        }
        let wait = t.check(a).unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(t.check(b).is_ok(), "another address has its own budget");
        let recorded = (0..20).filter(|_| t.record_refusal(a)).count();
        assert_eq!(recorded, REFUSALS_RECORDED_PER_MINUTE as usize);
    }
}
