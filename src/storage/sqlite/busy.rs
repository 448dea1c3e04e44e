//! Waiting for a lock another connection holds.
//!
//! SQLite's own busy handler (`sqlite3_busy_timeout`) sleeps 1, 2, 5, 10, 15, 20, 25,
//! 25, 25, 50, 50, 100 ms between tries: a writer that finds the lock taken by a write
//! of a tenth of a millisecond may sleep 25 ms after it was freed, and at 16 processes
//! the tail of a write's latency was those sleeps (p99 8.5 ms). This handler tries
//! again after short pauses that grow from 20 µs to at most [`Backoff::CAP`], each
//! drawn at random around its step so that waiters do not wake together, for as long
//! as the connection's busy timeout allows.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::error::Result;

/// The pauses between tries: short, growing, jittered.
#[derive(Debug)]
pub(super) struct Backoff {
    /// xorshift64 state (never 0).
    state: u64,
}

impl Backoff {
    /// The first step.
    const FIRST: Duration = Duration::from_micros(20);
    /// The longest step: a write holds the lock for about 0.1 ms, a merge or an
    /// import batch for a few; a waiter never sleeps much past the lock's release.
    pub(super) const CAP: Duration = Duration::from_millis(1);

    pub(super) fn new() -> Self {
        // A per-connection seed, so that processes started together draw apart.
        let seed = RandomState::new().hash_one(Instant::now());
        Backoff { state: seed | 1 }
    }

    /// The pause before try `attempt + 1`: the step doubles every two tries from
    /// [`Backoff::FIRST`] up to [`Backoff::CAP`], and the pause is drawn evenly from
    /// half the step to one and a half times it.
    pub(super) fn pause(&mut self, attempt: u32) -> Duration {
        let step = Self::FIRST
            .saturating_mul(1 << (attempt / 2).min(16))
            .min(Self::CAP);
        let step_ns = step.as_nanos() as u64;
        Duration::from_nanos(step_ns / 2 + self.next() % step_ns.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }
}

/// How long the connection's busy handler waits for a lock, changeable while it is
/// installed (the WAL reset waits less than a write does).
#[derive(Debug, Clone)]
pub(super) struct BusyWait {
    timeout_us: Arc<AtomicU64>,
}

impl BusyWait {
    /// Installs the handler on `conn`, waiting up to `timeout` for each lock.
    pub(super) fn install(conn: &mut Connection, timeout: Duration) -> Result<BusyWait> {
        let wait = BusyWait {
            timeout_us: Arc::new(AtomicU64::new(micros(timeout))),
        };
        let timeout_us = Arc::clone(&wait.timeout_us);
        let mut backoff = Backoff::new();
        let mut started = Instant::now();
        conn.busy_handler(Some(move |count: i32| {
            // `count` is how many times this lock has been waited for already.
            if count <= 0 {
                started = Instant::now();
            }
            let timeout = Duration::from_micros(timeout_us.load(Ordering::Relaxed));
            let left = timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                return false;
            }
            let attempt = u32::try_from(count).unwrap_or(0);
            std::thread::sleep(backoff.pause(attempt).min(left));
            true
        }))?;
        Ok(wait)
    }

    /// Waits up to `timeout` for each lock from now on.
    pub(super) fn set(&self, timeout: Duration) {
        self.timeout_us.store(micros(timeout), Ordering::Relaxed);
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Runs `op` until it is not busy or `deadline` passes, pausing as the busy handler
/// does: for the few cases where SQLite returns `SQLITE_BUSY` without calling it.
pub(super) fn retry_while_busy<T>(
    deadline: Instant,
    mut op: impl FnMut() -> Result<T>,
) -> Result<T> {
    let mut backoff = Backoff::new();
    let mut attempt = 0;
    loop {
        match op() {
            Err(e) if e.is_busy() && Instant::now() < deadline => {
                let left = deadline.saturating_duration_since(Instant::now());
                std::thread::sleep(backoff.pause(attempt).min(left));
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_are_jittered_around_a_step_that_grows_to_the_cap() {
        let mut backoff = Backoff::new();
        let mut seen = std::collections::BTreeSet::new();
        for attempt in 0..200 {
            let step = Backoff::FIRST
                .saturating_mul(1 << (attempt / 2).min(16))
                .min(Backoff::CAP);
            let pause = backoff.pause(attempt);
            assert!(pause >= step / 2, "attempt {attempt}: {pause:?}");
            assert!(pause < step * 3 / 2, "attempt {attempt}: {pause:?}");
            seen.insert(pause);
        }
        assert!(backoff.pause(0) < Duration::from_micros(30));
        assert!(backoff.pause(1_000) >= Backoff::CAP / 2);
        // Drawn, not fixed: 200 pauses take many values.
        assert!(seen.len() > 100, "{} distinct pauses", seen.len());
    }

    #[test]
    fn two_connections_draw_different_pauses() {
        let (mut a, mut b) = (Backoff::new(), Backoff::new());
        let a: Vec<Duration> = (0..16).map(|i| a.pause(i)).collect();
        let b: Vec<Duration> = (0..16).map(|i| b.pause(i)).collect();
        assert_ne!(a, b);
    }

    #[test]
    fn a_retry_gives_up_at_the_deadline_and_not_before() {
        let started = Instant::now();
        let mut tries = 0;
        let result: Result<()> = retry_while_busy(started + Duration::from_millis(30), || {
            tries += 1;
            Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                None,
            )
            .into())
        });
        let took = started.elapsed();
        assert!(result.unwrap_err().is_busy());
        assert!(took >= Duration::from_millis(30), "{took:?}");
        assert!(took < Duration::from_millis(200), "{took:?}");
        // Short pauses: many tries in 30 ms (SQLite's own schedule makes 6).
        assert!(tries > 20, "{tries} tries");
    }
}
