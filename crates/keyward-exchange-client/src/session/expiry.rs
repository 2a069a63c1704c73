//! Working out when a token dies: its [`ExpiryRule`] (a JWT's `exp`, or a daily cutoff in an
//! IANA zone) and the expiry the broker stated, the earliest winning.
//!
//! Time zones come from jiff's bundled copy of the IANA database
//! ([`TimeZoneDatabase::bundled`]), never the system's tz files, so that an expiry is the same
//! on every machine and a container without `/usr/share/zoneinfo` still works.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::{TimeZone, TimeZoneDatabase};

use super::expiry_error::ExpiryError;
use super::jwt_claims::JwtClaims;
use super::token::{AccessToken, ExpiryRule};

impl ExpiryRule {
    /// When a token issued at `issued_at` dies under this rule alone.
    ///
    /// [`JwtExp`](ExpiryRule::JwtExp): the `exp` claim of `token`, read without verifying its
    /// signature (only to schedule a refresh); a token that is not a JWT, or has no `exp`, is
    /// an [`ExpiryError`].
    /// [`DailyCutoff`](ExpiryRule::DailyCutoff): the first `hour:minute` in the zone strictly
    /// after `issued_at`. When that wall-clock time does not exist on a day (a DST gap) the
    /// instant just after the gap is used; when it happens twice (a DST overlap), the first.
    pub fn expiry_of(&self, token: &str, issued_at: SystemTime) -> Result<SystemTime, ExpiryError> {
        match *self {
            Self::JwtExp => JwtClaims::decode_unverified(token)?
                .expires_at()?
                .ok_or(ExpiryError::NoExp),
            Self::DailyCutoff { hour, minute, zone } => next_cutoff(hour, minute, zone, issued_at),
        }
    }

    /// When `token`, issued at `issued_at`, dies: the earlier of the expiry its login answer
    /// stated ([`AccessToken::expires_at`]) and this rule's. When the rule cannot be applied
    /// (a stated expiry, but a token that is not a JWT) the stated expiry is used; with neither
    /// the rule's error is returned.
    pub fn resolve(
        &self,
        token: &AccessToken,
        issued_at: SystemTime,
    ) -> Result<SystemTime, ExpiryError> {
        match (
            self.expiry_of(token.expose(), issued_at),
            token.expires_at(),
        ) {
            (Ok(rule), Some(stated)) => Ok(rule.min(stated)),
            (Ok(rule), None) => Ok(rule),
            (Err(_), Some(stated)) => Ok(stated),
            (Err(e), None) => Err(e),
        }
    }
}

/// The first `hour:minute` in `zone` strictly after `issued_at`.
fn next_cutoff(
    hour: u8,
    minute: u8,
    zone: &str,
    issued_at: SystemTime,
) -> Result<SystemTime, ExpiryError> {
    if hour > 23 || minute > 59 {
        return Err(ExpiryError::BadCutoff { hour, minute });
    }
    let tz = bundled().get(zone).map_err(|_| ExpiryError::UnknownZone {
        zone: zone.to_owned(),
    })?;
    let issued = to_timestamp(issued_at)?;
    let mut day = issued.to_zoned_datetime(tz.clone()).date();
    // Today's cutoff if it is still ahead, else tomorrow's: two days at most (a cutoff that
    // falls in a DST gap still lands on an instant of that day).
    for _ in 0..2 {
        let cutoff = cutoff_on(day, hour, minute, &tz)?;
        if cutoff > issued {
            return from_timestamp(cutoff);
        }
        day = day.tomorrow().map_err(|_| ExpiryError::OutOfRange)?;
    }
    from_timestamp(cutoff_on(day, hour, minute, &tz)?)
}

/// The instant of `hour:minute` on `day` in `tz` (jiff's "compatible" disambiguation: after a
/// gap, the earlier of an overlap, as RFC 5545 and Temporal do).
fn cutoff_on(day: Date, hour: u8, minute: u8, tz: &TimeZone) -> Result<Timestamp, ExpiryError> {
    // hour <= 23 and minute <= 59 were checked: they fit an i8.
    let civil = day.at(hour as i8, minute as i8, 0, 0);
    tz.to_ambiguous_zoned_datetime(civil)
        .compatible()
        .map(|z| z.timestamp())
        .map_err(|_| ExpiryError::OutOfRange)
}

/// The bundled IANA database, opened once.
fn bundled() -> &'static TimeZoneDatabase {
    static DB: OnceLock<TimeZoneDatabase> = OnceLock::new();
    DB.get_or_init(TimeZoneDatabase::bundled)
}

fn to_timestamp(t: SystemTime) -> Result<Timestamp, ExpiryError> {
    let ms = t
        .duration_since(UNIX_EPOCH)
        .map_err(|_| ExpiryError::OutOfRange)?
        .as_millis();
    let ms = i64::try_from(ms).map_err(|_| ExpiryError::OutOfRange)?;
    Timestamp::from_millisecond(ms).map_err(|_| ExpiryError::OutOfRange)
}

fn from_timestamp(t: Timestamp) -> Result<SystemTime, ExpiryError> {
    let ms = u64::try_from(t.as_millisecond()).map_err(|_| ExpiryError::OutOfRange)?;
    UNIX_EPOCH
        .checked_add(Duration::from_millis(ms))
        .ok_or(ExpiryError::OutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn a_cutoff_out_of_range_or_an_unknown_zone_is_refused() {
        let rule = ExpiryRule::DailyCutoff {
            hour: 24,
            minute: 0,
            zone: "Asia/Kolkata",
        };
        assert_eq!(
            rule.expiry_of("t", at(0)),
            Err(ExpiryError::BadCutoff {
                hour: 24,
                minute: 0
            })
        );
        let rule = ExpiryRule::DailyCutoff {
            hour: 3,
            minute: 30,
            zone: "Mars/Olympus_Mons",
        };
        assert!(matches!(
            rule.expiry_of("t", at(0)),
            Err(ExpiryError::UnknownZone { .. })
        ));
    }

    #[test]
    fn the_stated_expiry_wins_when_earlier_or_when_the_rule_cannot_apply() {
        let rule = ExpiryRule::DailyCutoff {
            hour: 3,
            minute: 30,
            zone: "UTC",
        };
        let token = AccessToken::new("opaque".into()).with_expiry(at(60_000));
        assert_eq!(rule.resolve(&token, at(0)).unwrap(), at(60_000));
        let token = AccessToken::new("opaque".into()).with_expiry(at(86_400_000));
        // 03:30 UTC on 1970-01-01 comes first.
        assert_eq!(rule.resolve(&token, at(0)).unwrap(), at(12_600_000));
        assert_eq!(
            ExpiryRule::JwtExp.resolve(&token, at(0)).unwrap(),
            at(86_400_000)
        );
        assert!(matches!(
            ExpiryRule::JwtExp.resolve(&AccessToken::new("opaque".into()), at(0)),
            Err(ExpiryError::NotJwt(_))
        ));
    }
}
