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

    /// This instant minus `span`, no earlier than the earliest timestamp.
    pub(crate) fn minus(self, span: std::time::Duration) -> Self {
        let span = i64::try_from(span.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_sub(span).max(MIN_MILLIS))
    }

    /// Parses an RFC 3339 timestamp in any offset; sub-millisecond digits are dropped.
    ///
    /// # Errors
    /// [`Error::InvalidField`] naming `timestamp` when the text is not RFC 3339.
    pub fn parse(text: &str) -> Result<Self> {
        Self::parse_field(text, "timestamp")
    }

    pub(crate) fn parse_field(text: &str, field: &'static str) -> Result<Self> {
        // Every stored timestamp is canonical; reading one back must be cheap (a memory
        // holds up to 50 of them).
        if let Some(t) = parse_canonical(text) {
            return Ok(t);
        }
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

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (`civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses exactly `YYYY-MM-DDTHH:MM:SS.mmmZ`, the stored form; anything else (other
/// offsets, precisions, invalid dates) is left to the general RFC 3339 parser.
fn parse_canonical(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() != 24
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[23] != b'Z'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        b[range].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second, milli) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    // Leap seconds (:60) are left to the general parser.
    if day < 1 || day > month_days || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let millis = ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + milli;
    Timestamp::from_millis(millis)
}

impl Timestamp {
    /// The canonical text, `YYYY-MM-DDTHH:MM:SS.mmmZ`, written digit by digit: a
    /// hydrated memory holds dozens of timestamps, and the formatting machinery cost a
    /// find's answer more than its reads of them.
    fn canonical(self) -> [u8; 24] {
        let days = self.0.div_euclid(86_400_000);
        let in_day = self.0.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        let mut out = *b"0000-00-00T00:00:00.000Z";
        // Years are within 0000–9999 (`from_millis` refuses the rest).
        let digits = |out: &mut [u8], value: i64| {
            let mut v = value;
            for d in out.iter_mut().rev() {
                *d = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        digits(&mut out[0..4], year);
        digits(&mut out[5..7], month);
        digits(&mut out[8..10], day);
        digits(&mut out[11..13], in_day / 3_600_000);
        digits(&mut out[14..16], in_day / 60_000 % 60);
        digits(&mut out[17..19], in_day / 1000 % 60);
        digits(&mut out[20..23], in_day % 1000);
        out
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.canonical();
        // ASCII digits and separators only.
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let text = self.canonical();
        match std::str::from_utf8(&text) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => serializer.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(|_| serde::de::Error::custom("invalid RFC 3339 timestamp"))
    }
}

/// In the OpenAPI document: an RFC 3339 date-time string.
#[cfg(feature = "serve")]
impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .examples(["2025-07-22T10:30:00.000Z"])
            .into()
    }
}

#[cfg(feature = "serve")]
impl utoipa::ToSchema for Timestamp {}

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

    /// The general parser (`time`'s RFC 3339), for comparison with the fast path.
    fn parse_general(text: &str) -> Option<i64> {
        let parsed = OffsetDateTime::parse(text, &Rfc3339).ok()?;
        i64::try_from(parsed.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
    }

    proptest::proptest! {
        #[test]
        fn display_then_parse_is_identity(millis in MIN_MILLIS..=MAX_MILLIS) {
            let t = Timestamp::from_millis(millis).unwrap();
            proptest::prop_assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
        }

        /// The hand-written formatter agrees with `time`'s calendar.
        #[test]
        fn display_matches_the_time_crate(millis in MIN_MILLIS..=MAX_MILLIS) {
            let dt = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).unwrap();
            let expected = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                dt.year(), u8::from(dt.month()), dt.day(), dt.hour(), dt.minute(), dt.second(), dt.millisecond()
            );
            proptest::prop_assert_eq!(Timestamp::from_millis(millis).unwrap().to_string(), expected);
        }

        /// The canonical fast path accepts exactly what the general parser accepts, with
        /// the same value, over canonical-looking text including invalid dates.
        #[test]
        fn canonical_fast_path_matches_the_general_parser(
            y in 0u32..10000, mo in 0u32..14, d in 0u32..33, h in 0u32..25, mi in 0u32..61, s in 0u32..61, ms in 0u32..1000,
        ) {
            let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z");
            let fast = parse_canonical(&text).map(Timestamp::as_millis);
            let general = parse_general(&text);
            if s == 60 {
                proptest::prop_assert_eq!(fast, None); // left to the general parser
            } else {
                proptest::prop_assert_eq!(fast, general, "{}", text);
            }
        }
    }
}
