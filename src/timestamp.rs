//! Timestamps: stored as milliseconds since the Unix epoch, written as
//! `2025-07-22T10:30:00.000Z` (UTC, RFC 3339, milliseconds) everywhere else.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::{Error, Result};

/// A point in time with millisecond precision, in UTC.
///
/// ```
/// use contactstore::Timestamp;
/// let t = Timestamp::parse("2025-07-22T12:30:00+02:00").unwrap();
/// assert_eq!(t.to_string(), "2025-07-22T10:30:00.000Z");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Earliest and latest instants that format as a four-digit year.
const MIN_MILLIS: i64 = -62_167_219_200_000; // 0000-01-01T00:00:00.000Z
const MAX_MILLIS: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

impl Timestamp {
    /// The current time, truncated to milliseconds.
    pub fn now() -> Self {
        let millis = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(MAX_MILLIS),
            Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(0),
        };
        Timestamp(millis.clamp(MIN_MILLIS, MAX_MILLIS))
    }

    /// A timestamp from milliseconds since the Unix epoch, if it has a four-digit year.
    pub fn from_millis(millis: i64) -> Option<Self> {
        (MIN_MILLIS..=MAX_MILLIS)
            .contains(&millis)
            .then_some(Timestamp(millis))
    }

    /// Milliseconds since the Unix epoch.
    pub fn as_millis(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 timestamp in any offset; sub-millisecond digits are dropped.
    ///
    /// # Errors
    /// [`Error::InvalidField`] naming `timestamp` when the text is not RFC 3339.
    pub fn parse(text: &str) -> Result<Self> {
        Self::parse_field(text, "timestamp")
    }

    pub(crate) fn parse_field(text: &str, field: &'static str) -> Result<Self> {
        if text.len() > 64 {
            return Err(Error::invalid(field, "is not an RFC 3339 timestamp"));
        }
        let parsed = OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|_| Error::invalid(field, "is not an RFC 3339 timestamp"))?;
        let millis = parsed.unix_timestamp_nanos().div_euclid(1_000_000);
        i64::try_from(millis)
            .ok()
            .and_then(Timestamp::from_millis)
            .ok_or_else(|| Error::invalid(field, "is out of range"))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = i128::from(self.0) * 1_000_000;
        // The constructor keeps the value within four-digit years, which `time` handles.
        let Ok(dt) = OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
            return Err(fmt::Error);
        };
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            dt.millisecond()
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(|_| serde::de::Error::custom("invalid RFC 3339 timestamp"))
    }
}

impl rusqlite::ToSql for Timestamp {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.0.into())
    }
}

impl rusqlite::types::FromSql for Timestamp {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let millis = value.as_i64()?;
        Timestamp::from_millis(millis).ok_or(rusqlite::types::FromSqlError::OutOfRange(millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_milliseconds_and_z() {
        let t = Timestamp::from_millis(1_753_180_200_000).unwrap();
        assert_eq!(t.to_string(), "2025-07-22T10:30:00.000Z");
        assert_eq!(
            Timestamp::from_millis(-1).unwrap().to_string(),
            "1969-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn parses_offsets_and_fractions_into_canonical_form() {
        for (input, canonical) in [
            ("2025-07-22T10:30:00.000Z", "2025-07-22T10:30:00.000Z"),
            ("2025-07-22T10:30:00Z", "2025-07-22T10:30:00.000Z"),
            ("2025-07-22T03:30:00-07:00", "2025-07-22T10:30:00.000Z"),
            ("2025-07-22T10:30:00.123456Z", "2025-07-22T10:30:00.123Z"),
            ("0000-01-01T00:00:00Z", "0000-01-01T00:00:00.000Z"),
            ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
        ] {
            assert_eq!(
                Timestamp::parse(input).unwrap().to_string(),
                canonical,
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_what_is_not_rfc3339() {
        for input in [
            "",
            "yesterday",
            "2025-07-22",
            "2025-07-22 10:30:00",
            "2025-13-01T00:00:00Z",
            "9999-12-31T23:59:59-01:00",
        ] {
            assert!(Timestamp::parse(input).is_err(), "{input}");
        }
    }

    #[test]
    fn bounds_are_the_four_digit_years() {
        assert!(Timestamp::from_millis(MIN_MILLIS - 1).is_none());
        assert!(Timestamp::from_millis(MAX_MILLIS + 1).is_none());
        assert!(Timestamp::from_millis(MAX_MILLIS).is_some());
    }

    proptest::proptest! {
        #[test]
        fn display_then_parse_is_identity(millis in MIN_MILLIS..=MAX_MILLIS) {
            let t = Timestamp::from_millis(millis).unwrap();
            proptest::prop_assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
        }
    }
}
