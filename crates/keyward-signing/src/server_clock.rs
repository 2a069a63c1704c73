//! [`ServerClock`]: the local clock corrected by a measured offset to a venue's clock.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::clock::Clock;
use crate::error::{Error, Result};

/// How many samples [`ServerClock::new`] keeps.
const DEFAULT_WINDOW: usize = 8;

/// A [`Clock`] that tells a venue's time: the local clock plus a measured offset, minus an
/// optional bias into the past. Give it to a [`Signer`](crate::Signer) with `with_clock` and
/// every timestamp the signer makes is corrected.
///
/// Each sample is one round trip to the venue's time endpoint: local time `sent` before the
/// request, the server's time, local time `received` after the answer. Its offset is
/// `server - (sent + received) / 2`, exact when the two legs take equally long and off by at
/// most half the round trip otherwise. Of the last samples (8 by default) the clock uses the
/// offset of the one with the smallest round trip, as NTP's clock filter does (RFC 5905,
/// section 10): the error bound of a sample is half its round trip, so the fastest sample is
/// the one known to be closest, whereas a median still follows a majority of slow, lopsided
/// samples, such as those taken while the network is congested.
///
/// Venues refuse timestamps too far in the future with little tolerance (Binance: 1 s ahead of
/// its clock, against a receive window of up to a minute behind), so
/// [`with_bias_ms`](Self::with_bias_ms) moves every timestamp a little into the past.
///
/// ```
/// use std::sync::Arc;
/// use keyward_signing::{Clock, FixedClock, ServerClock};
///
/// let local = Arc::new(FixedClock::new(1_000_000));
/// let clock = ServerClock::new(local.clone()).with_bias_ms(500);
/// // A fake server 2 s ahead of us, 40 ms away each way.
/// clock.resync(|| {
///     local.advance(40);
///     let server = local.now_ms() + 2_000;
///     local.advance(40);
///     Ok::<_, keyward_signing::Error>(server)
/// })?;
/// assert_eq!(clock.offset_ms(), 2_000);
/// assert_eq!(clock.now_ms(), local.now_ms() + 2_000 - 500);
/// # Ok::<(), keyward_signing::Error>(())
/// ```
#[derive(Debug)]
pub struct ServerClock {
    local: Arc<dyn Clock>,
    bias_ms: u64,
    window: usize,
    samples: Mutex<VecDeque<Sample>>,
    /// The chosen sample's offset, kept apart so that `now_ms` (on every signature) takes no
    /// lock.
    offset_ms: AtomicI64,
}

/// One round trip to the server.
#[derive(Debug, Clone, Copy)]
struct Sample {
    offset_ms: i64,
    round_trip_ms: u64,
}

impl ServerClock {
    /// The venue's time as `local` plus an offset of 0 until samples are recorded, keeping the
    /// last 8 samples, with no bias.
    pub fn new(local: Arc<dyn Clock>) -> Self {
        Self {
            local,
            bias_ms: 0,
            window: DEFAULT_WINDOW,
            samples: Mutex::new(VecDeque::with_capacity(DEFAULT_WINDOW)),
            offset_ms: AtomicI64::new(0),
        }
    }

    /// Subtracts `bias_ms` from every timestamp, for venues that refuse timestamps slightly in
    /// their future (Binance and Bybit allow about 1 s); a few hundred milliseconds is usual.
    pub fn with_bias_ms(mut self, bias_ms: u64) -> Self {
        self.bias_ms = bias_ms;
        self
    }

    /// Keeps the last `samples` samples (at least 1) instead of 8. A larger window rides out
    /// longer congestion; a smaller one follows a drifting local clock sooner.
    pub fn with_window(mut self, samples: usize) -> Self {
        self.window = samples.max(1);
        self
    }

    /// Records one round trip: local time `sent_ms` before the request, the server's time
    /// `server_ms` from its answer, local time `received_ms` after the answer (all in ms since
    /// the Unix epoch, the local ones from this clock's local clock). Returns the offset now in
    /// use. A sample received before it was sent means the local clock stepped back; it is
    /// refused with [`Error::InvalidClockSample`] and changes nothing.
    pub fn record_sample(&self, sent_ms: u64, server_ms: u64, received_ms: u64) -> Result<i64> {
        if received_ms < sent_ms {
            return Err(Error::InvalidClockSample {
                sent_ms,
                received_ms,
            });
        }
        // 2 * offset = 2 * server - (sent + received), exact in i128; halved rounding down.
        let twice = 2 * i128::from(server_ms) - i128::from(sent_ms) - i128::from(received_ms);
        let offset = twice.div_euclid(2);
        let sample = Sample {
            offset_ms: i64::try_from(offset).unwrap_or(if offset < 0 {
                i64::MIN
            } else {
                i64::MAX
            }),
            round_trip_ms: received_ms - sent_ms,
        };
        let mut samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        while samples.len() >= self.window {
            samples.pop_front();
        }
        samples.push_back(sample);
        let offset = best(&samples);
        self.offset_ms.store(offset, Ordering::SeqCst);
        Ok(offset)
    }

    /// Takes one sample now: reads the local clock, calls `probe` (which asks the venue for its
    /// time in ms and returns it), reads the local clock again, and records the result. Returns
    /// the offset now in use. The probe's error is returned as it is, and records nothing.
    ///
    /// Call it after a venue refuses a timestamp; call [`reset`](Self::reset) first, so the new
    /// sample is not outvoted by older ones taken before the local clock jumped.
    pub fn resync<E>(&self, probe: impl FnOnce() -> Result<u64, E>) -> Result<i64, E>
    where
        E: From<Error>,
    {
        let sent_ms = self.local.now_ms();
        let server_ms = probe()?;
        let received_ms = self.local.now_ms();
        Ok(self.record_sample(sent_ms, server_ms, received_ms)?)
    }

    /// Forgets every sample: the offset is 0 until the next one.
    pub fn reset(&self) {
        let mut samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        samples.clear();
        self.offset_ms.store(0, Ordering::SeqCst);
    }

    /// The offset in use: server time minus local time, in ms (negative when the local clock
    /// is ahead). The bias is not included.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::SeqCst)
    }

    /// The bias into the past, in ms.
    pub fn bias_ms(&self) -> u64 {
        self.bias_ms
    }

    /// How many samples are kept now.
    pub fn sample_count(&self) -> usize {
        self.samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Clock for ServerClock {
    /// Local time plus the offset minus the bias, clamped to the range of `u64`.
    fn now_ms(&self) -> u64 {
        let t = i128::from(self.local.now_ms()) + i128::from(self.offset_ms())
            - i128::from(self.bias_ms);
        u64::try_from(t).unwrap_or(if t < 0 { 0 } else { u64::MAX })
    }
}

/// The offset of the sample with the smallest round trip; the newest among equals. 0 if none.
fn best(samples: &VecDeque<Sample>) -> i64 {
    samples
        .iter()
        .rev()
        .min_by_key(|s| s.round_trip_ms)
        .map_or(0, |s| s.offset_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};

    const T0: u64 = 1_700_000_000_000;

    /// A venue whose clock runs `offset_ms` from the local fixed clock, reached through a
    /// network whose legs take `up` and `down` ms: the probe advances the local clock by each.
    struct FakeServer {
        local: Arc<FixedClock>,
        offset_ms: i64,
    }

    impl FakeServer {
        fn new(offset_ms: i64) -> (Self, ServerClock) {
            let local = Arc::new(FixedClock::new(T0));
            let clock = ServerClock::new(local.clone());
            (Self { local, offset_ms }, clock)
        }

        fn probe(&self, up: u64, down: u64) -> impl FnOnce() -> Result<u64> + '_ {
            move || {
                self.local.advance(up);
                let server = self.true_now();
                self.local.advance(down);
                Ok(server)
            }
        }

        fn true_now(&self) -> u64 {
            self.local
                .now_ms()
                .checked_add_signed(self.offset_ms)
                .unwrap()
        }
    }

    #[test]
    fn symmetric_latency_gives_the_exact_offset_and_it_is_applied() {
        let (server, clock) = FakeServer::new(2_345);
        assert_eq!(clock.now_ms(), T0, "no sample: no correction");
        assert_eq!(clock.resync(server.probe(30, 30)).unwrap(), 2_345);
        assert_eq!(clock.offset_ms(), 2_345);
        assert_eq!(clock.now_ms(), server.true_now());
        server.local.advance(10_000);
        assert_eq!(clock.now_ms(), server.true_now());
    }

    #[test]
    fn the_offset_converges_within_half_the_fastest_round_trip() {
        let (server, clock) = FakeServer::new(-1_234);
        // Congested, lopsided round trips first, then faster ones: the estimate only improves
        // and ends within half the fastest round trip of the truth.
        let legs = [
            (400, 20),
            (15, 300),
            (250, 90),
            (60, 20),
            (12, 30),
            (80, 200),
            (9, 5),
        ];
        let mut errors = Vec::new();
        for (up, down) in legs {
            clock.resync(server.probe(up, down)).unwrap();
            errors.push((clock.offset_ms() - server.offset_ms).unsigned_abs());
        }
        assert!(errors.windows(2).all(|w| w[1] <= w[0]), "{errors:?}");
        assert!(errors[0] > 100, "{errors:?}");
        assert!(*errors.last().unwrap() <= 7, "{errors:?}");
        assert_eq!(clock.now_ms(), server.true_now() + 2);
        assert_eq!(clock.sample_count(), 7);
    }

    #[test]
    fn a_slow_lopsided_sample_does_not_win_over_a_fast_one() {
        let (server, clock) = FakeServer::new(500);
        clock.resync(server.probe(10, 10)).unwrap();
        for _ in 0..5 {
            // 3 s up, 10 ms down: taken alone it would put the offset 1.5 s too high.
            let offset = clock.resync(server.probe(3_000, 10)).unwrap();
            assert_eq!(offset, 500);
        }
        assert_eq!(clock.now_ms(), server.true_now());
    }

    #[test]
    fn old_samples_leave_the_window() {
        let (server, clock) = FakeServer::new(100);
        let clock = clock.with_window(3);
        clock.resync(server.probe(1, 1)).unwrap();
        // The server's clock is stepped: the old fast sample still rules until it leaves.
        let server = FakeServer {
            local: server.local.clone(),
            offset_ms: 900,
        };
        assert_eq!(clock.resync(server.probe(50, 50)).unwrap(), 100);
        assert_eq!(clock.resync(server.probe(50, 50)).unwrap(), 100);
        assert_eq!(clock.resync(server.probe(50, 50)).unwrap(), 900);
        assert_eq!(clock.sample_count(), 3);
    }

    #[test]
    fn bias_moves_every_timestamp_into_the_past() {
        let (server, clock) = FakeServer::new(3_000);
        let clock = clock.with_bias_ms(400);
        assert_eq!(clock.bias_ms(), 400);
        clock.resync(server.probe(20, 20)).unwrap();
        assert_eq!(clock.offset_ms(), 3_000);
        assert_eq!(clock.now_ms(), server.true_now() - 400);
    }

    #[test]
    fn negative_offsets_and_extremes_saturate() {
        let local = Arc::new(FixedClock::new(1_000));
        let clock = ServerClock::new(local.clone()).with_bias_ms(600);
        assert_eq!(clock.record_sample(1_000, 0, 1_000).unwrap(), -1_000);
        assert_eq!(clock.now_ms(), 0, "below the epoch clamps to 0");
        clock.reset();
        assert_eq!(clock.record_sample(0, u64::MAX, 0).unwrap(), i64::MAX);
        local.set(u64::MAX);
        assert_eq!(ServerClock::new(local.clone()).now_ms(), u64::MAX);
        assert_eq!(clock.now_ms(), u64::MAX);
        clock.reset();
        assert_eq!(
            clock.record_sample(u64::MAX, 0, u64::MAX).unwrap(),
            i64::MIN
        );
        assert_eq!(clock.now_ms(), u64::MAX - (1 << 63) - 600);
    }

    #[test]
    fn the_midpoint_rounds_down() {
        let clock = ServerClock::new(Arc::new(FixedClock::new(0)));
        // Midpoint 100.5: offset -0.5 rounds to -1, +0.5 rounds to 0.
        assert_eq!(clock.record_sample(100, 100, 101).unwrap(), -1);
        clock.reset();
        assert_eq!(clock.record_sample(100, 101, 101).unwrap(), 0);
    }

    #[test]
    fn a_sample_received_before_it_was_sent_is_refused() {
        let (server, clock) = FakeServer::new(700);
        clock.resync(server.probe(5, 5)).unwrap();
        let err = clock.record_sample(T0 + 50, T0, T0 + 49).unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidClockSample { sent_ms, received_ms }
                if sent_ms == T0 + 50 && received_ms == T0 + 49
        ));
        assert!(err.to_string().contains("stepped back"), "{err}");
        assert_eq!(clock.sample_count(), 1);
        assert_eq!(clock.offset_ms(), 700);
        // The same through resync: the local clock is stepped back during the probe.
        let err = clock
            .resync(|| {
                server.local.set(T0 - 1);
                Ok(T0)
            })
            .unwrap_err();
        assert!(matches!(err, Error::InvalidClockSample { .. }));
        assert_eq!(clock.sample_count(), 1);
    }

    #[test]
    fn a_failed_probe_records_nothing_and_keeps_its_error() {
        #[derive(Debug, PartialEq)]
        enum HttpError {
            Timeout,
            Signing,
        }
        impl From<Error> for HttpError {
            fn from(_: Error) -> Self {
                Self::Signing
            }
        }
        let (_, clock) = FakeServer::new(0);
        assert_eq!(
            clock.resync(|| Err(HttpError::Timeout)),
            Err(HttpError::Timeout)
        );
        assert_eq!(clock.sample_count(), 0);
    }

    #[test]
    fn reset_then_resync_follows_a_stepped_clock_at_once() {
        let (server, clock) = FakeServer::new(250);
        clock.resync(server.probe(1, 1)).unwrap();
        // The venue refuses a timestamp: the local clock was stepped by 5 s.
        server.local.advance(5_000);
        let server = FakeServer {
            local: server.local.clone(),
            offset_ms: 250 - 5_000,
        };
        clock.reset();
        assert_eq!((clock.sample_count(), clock.offset_ms()), (0, 0));
        assert_eq!(clock.resync(server.probe(40, 40)).unwrap(), -4_750);
        assert_eq!(clock.now_ms(), server.true_now());
    }

    #[test]
    fn a_signer_on_a_server_clock_signs_with_server_time() {
        let (server, clock) = FakeServer::new(-1_500);
        let clock = Arc::new(clock.with_bias_ms(200));
        clock.resync(server.probe(25, 25)).unwrap();
        let creds = Credentials::new("k", "s".into());
        let signer = Signer::new(Scheme::Binance, &creds)
            .unwrap()
            .with_clock(clock.clone());
        let sent = signer
            .sign(Request::get("/api/v3/account"), &SignOptions::default())
            .unwrap();
        let expected = server.true_now() - 200;
        assert!(
            sent.query.starts_with(&format!("timestamp={expected}&")),
            "{}",
            sent.query
        );
    }
}
