//! Attio's timestamp wire format (`2022-11-21T13:22:49.061281000Z`) and the deadline formats it accepts.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

/// The current time at microsecond precision, as Attio records it.
pub(crate) fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now)
}

/// Formats in UTC with nine subsecond digits and a `Z`.
pub(crate) fn format(ts: OffsetDateTime) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");
    // Only years outside 0..=9999 fail to format, and `parse_deadline` never produces them.
    ts.to_offset(UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_default()
}

/// Parses a deadline: an RFC 3339 timestamp (any offset, any subsecond digits) or a bare date,
/// which Attio's own example uses (`2023-01-01`) and which is read as midnight UTC.
pub(crate) fn parse_deadline(input: &str) -> Option<OffsetDateTime> {
    if let Ok(ts) = OffsetDateTime::parse(input, &Rfc3339) {
        return (0..=9999)
            .contains(&ts.to_offset(UtcOffset::UTC).year())
            .then(|| ts.to_offset(UtcOffset::UTC));
    }
    let date = Date::parse(input, format_description!("[year]-[month]-[day]")).ok()?;
    Some(date.midnight().assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn timestamps_have_nine_subsecond_digits_in_utc() {
        assert_eq!(
            format(datetime!(2022-11-21 13:22:49.061281 UTC)),
            "2022-11-21T13:22:49.061281000Z"
        );
        assert_eq!(
            format(datetime!(2022-11-21 15:00:00 +02:00)),
            "2022-11-21T13:00:00.000000000Z"
        );
    }

    #[test]
    fn deadlines_accept_timestamps_and_dates_and_reject_the_rest() {
        let cases = [
            (
                "2023-01-01T15:00:00.000000000Z",
                Some("2023-01-01T15:00:00.000000000Z"),
            ),
            (
                "2023-01-01T15:00:00+01:00",
                Some("2023-01-01T14:00:00.000000000Z"),
            ),
            ("2023-01-01", Some("2023-01-01T00:00:00.000000000Z")),
            ("2023-13-01", None),
            ("tomorrow", None),
            ("", None),
        ];
        for (input, expected) in cases {
            assert_eq!(
                parse_deadline(input).map(format).as_deref(),
                expected,
                "{input}"
            );
        }
    }
}
