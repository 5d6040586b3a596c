//! Explicit points in time for the pure core: unix seconds (`UnixTime`) and closed validity
//! intervals (`ValidFor`, the trusted root's `validFor`). Nothing here reads the clock.

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Seconds since the unix epoch, UTC. Passed into the core explicitly; never read from a clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(pub i64);

impl UnixTime {
    /// Nanoseconds since the epoch, for exact comparison with fractional RFC 3339 bounds.
    pub fn as_nanos(self) -> i128 {
        i128::from(self.0) * 1_000_000_000
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
        {
            Some(s) => f.write_str(&s),
            None => write!(f, "@{}", self.0),
        }
    }
}

/// An RFC 3339 instant kept at nanosecond precision (trusted-root bounds may carry fractions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant {
    nanos: i128,
}

impl Instant {
    /// Parse an RFC 3339 timestamp such as `2022-10-31T23:59:59.999Z`.
    pub fn parse_rfc3339(s: &str) -> Result<Self, String> {
        let t = OffsetDateTime::parse(s, &Rfc3339).map_err(|e| format!("{s:?}: {e}"))?;
        Ok(Self {
            nanos: t.unix_timestamp_nanos(),
        })
    }

    pub fn from_unix(t: UnixTime) -> Self {
        Self {
            nanos: t.as_nanos(),
        }
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match OffsetDateTime::from_unix_timestamp_nanos(self.nanos)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
        {
            Some(s) => f.write_str(&s),
            None => write!(f, "@{}ns", self.nanos),
        }
    }
}

/// A closed interval `[start, end]`; a missing end means "still valid".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidFor {
    pub start: Instant,
    pub end: Option<Instant>,
}

impl ValidFor {
    pub fn contains(&self, t: UnixTime) -> bool {
        let t = Instant::from_unix(t);
        t >= self.start && self.end.is_none_or(|end| t <= end)
    }
}

impl fmt::Display for ValidFor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.end {
            Some(end) => write!(f, "[{}, {}]", self.start, end),
            None => write!(f, "[{}, open]", self.start),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_interval_includes_both_ends() {
        let v = ValidFor {
            start: Instant::parse_rfc3339("2022-01-01T00:00:00Z").unwrap(),
            end: Some(Instant::parse_rfc3339("2022-01-02T00:00:00Z").unwrap()),
        };
        assert!(v.contains(UnixTime(1_640_995_200)));
        assert!(v.contains(UnixTime(1_641_081_600)));
        assert!(!v.contains(UnixTime(1_640_995_199)));
        assert!(!v.contains(UnixTime(1_641_081_601)));
    }

    #[test]
    fn fractional_end_is_respected() {
        let v = ValidFor {
            start: Instant::parse_rfc3339("2021-03-14T00:00:00Z").unwrap(),
            end: Some(Instant::parse_rfc3339("2022-10-31T23:59:59.999Z").unwrap()),
        };
        // 2022-10-31T23:59:59Z is inside; the next second is not.
        assert!(v.contains(UnixTime(1_667_260_799)));
        assert!(!v.contains(UnixTime(1_667_260_800)));
    }

    #[test]
    fn open_end_and_garbage() {
        let v = ValidFor {
            start: Instant::parse_rfc3339("2021-01-12T11:53:27.000Z").unwrap(),
            end: None,
        };
        assert!(v.contains(UnixTime(i64::MAX / 1_000_000_000)));
        assert!(Instant::parse_rfc3339("2021-01-12").is_err());
        assert!(Instant::parse_rfc3339("yesterday").is_err());
        assert_eq!(UnixTime(0).to_string(), "1970-01-01T00:00:00Z");
    }
}
