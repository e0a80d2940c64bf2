//! Times as a user reads them: in their time zone (an IANA name they chose, or that their
//! browser reported; UTC until then), and deadlines in words ("today", "in 3 days",
//! "overdue by 2 days") with the exact date beside them.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// The zone shown to a user who has none yet.
pub const DEFAULT_ZONE: Tz = Tz::UTC;

/// Deadlines further away than this many days show as a date rather than "in N days".
const DAYS_IN_WORDS: i64 = 13;

/// A known IANA zone name, as `Tz` spells it; `None` for anything else.
pub fn parse_zone(name: &str) -> Option<Tz> {
    name.trim().parse::<Tz>().ok()
}

/// Every zone a user can choose, sorted by name (the IANA database's canonical names and links,
/// as chrono-tz lists them).
pub fn zone_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
    names.sort_unstable();
    names
}

/// A user's clock: their zone and the instant a page is made at.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    zone: Tz,
    now: DateTime<Utc>,
}

/// A deadline as the tasks page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// "today", "tomorrow", "in 3 days", "overdue by 2 days", or a date.
    pub words: String,
    /// The exact deadline, for a tooltip and screen readers: a date, or a date and time.
    pub exact: String,
    /// Machine-readable, for `<time datetime>`.
    pub iso: String,
    pub overdue: bool,
}

impl Clock {
    pub fn new(zone: Tz, now: DateTime<Utc>) -> Self {
        Self { zone, now }
    }

    /// The user's zone (`None`: not set, UTC) at this moment.
    pub fn for_user(zone: Option<&str>) -> Self {
        Self::new(
            zone.and_then(parse_zone).unwrap_or(DEFAULT_ZONE),
            Utc::now(),
        )
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// A key for HTML made with this clock and `extra` (whatever else it depends on): equal
    /// for the same zone, day and `extra`, so a rendering can be kept until one of them changes.
    pub fn render_key(&self, extra: impl std::hash::Hash) -> i64 {
        use std::hash::Hasher;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hash::hash(&(self.today(), self.zone.name(), extra), &mut hasher);
        hasher.finish() as i64
    }

    /// Today's date where the user is.
    pub fn today(&self) -> NaiveDate {
        self.now.with_timezone(&self.zone).date_naive()
    }

    /// An instant (unix milliseconds) as a date and time in the user's zone, with the zone's
    /// abbreviation ("Dec 1, 2026 09:05 CET").
    pub fn instant_ms(&self, ms: i64) -> String {
        match Utc.timestamp_millis_opt(ms).single() {
            Some(at) => at
                .with_timezone(&self.zone)
                .format("%b %-d, %Y %H:%M %Z")
                .to_string(),
            None => "at an unknown time".to_owned(),
        }
    }

    /// A deadline as Attio stores it (a date, or an ISO 8601 timestamp shown on its date in the
    /// user's zone); `None` for text that is neither, which the page shows as it came.
    pub fn deadline(&self, raw: &str, completed: bool) -> Option<Deadline> {
        let raw = raw.trim();
        let (date, exact, iso) = if let Ok(date) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            (date, long_date(date), date.format("%Y-%m-%d").to_string())
        } else {
            let at = DateTime::parse_from_rfc3339(raw).ok()?;
            let local = at.with_timezone(&self.zone);
            (
                local.date_naive(),
                local.format("%a, %b %-d, %Y %H:%M %Z").to_string(),
                at.with_timezone(&Utc).to_rfc3339(),
            )
        };
        let days = (date - self.today()).num_days();
        let words = match days {
            _ if completed => format!("due {}", short_date(date, self.today())),
            0 => "today".to_owned(),
            1 => "tomorrow".to_owned(),
            -1 => "overdue by 1 day".to_owned(),
            d if d < 0 => format!("overdue by {} days", -d),
            d if d <= DAYS_IN_WORDS => format!("in {d} days"),
            _ => format!("on {}", short_date(date, self.today())),
        };
        Some(Deadline {
            words,
            exact,
            iso,
            overdue: !completed && days < 0,
        })
    }

    /// The deadline Attio is sent for a date the user picked: the start of that day in their
    /// zone (so that it shows on that date to them), as an ISO 8601 timestamp in UTC. A day
    /// that starts in a DST gap starts at the first instant that exists.
    pub fn deadline_for_date(&self, date: NaiveDate) -> String {
        let start = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        let local = self
            .zone
            .from_local_datetime(&start)
            .earliest()
            .or_else(|| {
                // Midnight does not exist that day (a DST gap): an hour later does.
                self.zone
                    .from_local_datetime(&(start + chrono::Duration::hours(1)))
                    .earliest()
            })
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&start));
        local.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
    }

    /// The date a stored deadline falls on for this user, for a date input's value.
    pub fn deadline_date(&self, raw: &str) -> Option<NaiveDate> {
        let raw = raw.trim();
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok().or_else(|| {
            DateTime::parse_from_rfc3339(raw)
                .ok()
                .map(|at| at.with_timezone(&self.zone).date_naive())
        })
    }
}

/// "Dec 5", or "Dec 5, 2027" outside the current year.
fn short_date(date: NaiveDate, today: NaiveDate) -> String {
    if date.year() == today.year() {
        date.format("%b %-d").to_string()
    } else {
        date.format("%b %-d, %Y").to_string()
    }
}

fn long_date(date: NaiveDate) -> String {
    date.format("%a, %b %-d, %Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(zone: &str, now: &str) -> Clock {
        Clock::new(
            parse_zone(zone).unwrap(),
            DateTime::parse_from_rfc3339(now)
                .unwrap()
                .with_timezone(&Utc),
        )
    }

    fn words(clock: &Clock, raw: &str) -> String {
        clock.deadline(raw, false).unwrap().words
    }

    #[test]
    fn deadlines_in_words_relative_to_the_users_today() {
        let c = clock("Europe/Paris", "2026-12-01T10:00:00Z");
        assert_eq!(words(&c, "2026-12-01"), "today");
        assert_eq!(words(&c, "2026-12-02"), "tomorrow");
        assert_eq!(words(&c, "2026-12-04"), "in 3 days");
        assert_eq!(words(&c, "2026-11-30"), "overdue by 1 day");
        assert_eq!(words(&c, "2026-11-29"), "overdue by 2 days");
        assert_eq!(words(&c, "2026-12-31"), "on Dec 31");
        assert_eq!(words(&c, "2027-01-20"), "on Jan 20, 2027");
        assert!(c.deadline("2026-11-29", false).unwrap().overdue);
        assert!(!c.deadline("2026-12-01", false).unwrap().overdue);
        let done = c.deadline("2026-11-29", true).unwrap();
        assert_eq!(done.words, "due Nov 29");
        assert!(!done.overdue, "a completed task is never overdue");
        assert_eq!(c.deadline("soon", false), None);
    }

    #[test]
    fn a_timestamp_falls_on_the_users_date() {
        // 23:30 UTC on Dec 1 is already Dec 2 in Paris and still Dec 1 in New York.
        let paris = clock("Europe/Paris", "2026-12-01T12:00:00Z");
        let new_york = clock("America/New_York", "2026-12-01T12:00:00Z");
        let raw = "2026-12-01T23:30:00.000000000Z";
        assert_eq!(words(&paris, raw), "tomorrow");
        assert_eq!(words(&new_york, raw), "today");
        assert_eq!(
            paris.deadline(raw, false).unwrap().exact,
            "Wed, Dec 2, 2026 00:30 CET"
        );
        // And "today" itself depends on the zone: at 23:30 UTC it is tomorrow in Tokyo.
        let tokyo = clock("Asia/Tokyo", "2026-12-01T23:30:00Z");
        assert_eq!(words(&tokyo, "2026-12-02"), "today");
    }

    #[test]
    fn a_picked_date_is_sent_as_the_start_of_that_day_where_the_user_is() {
        let paris = clock("Europe/Paris", "2026-12-01T12:00:00Z");
        let date = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let sent = paris.deadline_for_date(date);
        assert_eq!(sent, "2026-12-04T23:00:00.000000000Z");
        assert_eq!(
            paris.deadline_date(&sent),
            Some(date),
            "it reads back as the same day"
        );
        // Sao Paulo has no DST now, but Havana skips midnight on its spring-forward day.
        let havana = clock("America/Havana", "2026-03-01T12:00:00Z");
        let gap = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        assert_eq!(
            havana.deadline_date(&havana.deadline_for_date(gap)),
            Some(gap)
        );
    }

    #[test]
    fn instants_show_in_the_zone_and_unknown_zones_are_refused() {
        let c = clock("Asia/Kolkata", "2026-12-01T12:00:00Z");
        assert_eq!(c.instant_ms(1_764_590_400_000), "Dec 1, 2025 17:30 IST");
        assert!(parse_zone("Mars/Olympus").is_none());
        assert!(parse_zone("").is_none());
        assert!(zone_names().contains(&"Europe/Paris"));
        assert_eq!(Clock::for_user(Some("nonsense")).zone(), DEFAULT_ZONE);
    }
}
