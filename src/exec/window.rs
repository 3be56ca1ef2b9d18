//! Off-peak windows: named days, a start and an end time in a time zone (an end before the
//! start runs past midnight). A backfill starts only inside a window and parks at its cursor
//! when the window closes; a contract step starts only if its estimate fits before it closes.
//!
//! The clock is the system's, unless `LOCKGATE_CLOCK_FILE` names a file holding an RFC 3339
//! timestamp, read at every look: how the tests move time without sleeping.

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use crate::config::Window;

/// What is wrong with a window of `[[backfill.windows]]`.
#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    #[error("time zone `{name}`: {source}")]
    Zone { name: String, source: jiff::Error },
    #[error("`{text}` is not HH:MM")]
    NotATime { text: String },
    #[error("`{text}`: {source}")]
    Time { text: String, source: jiff::Error },
    #[error("`{text}` is not a day (mon … sun)")]
    NotADay { text: String },
}

/// Now, from the system clock or the test clock file.
pub fn now() -> Timestamp {
    std::env::var_os("LOCKGATE_CLOCK_FILE")
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or_else(Timestamp::now)
}

// The configuration reads a window as plain data; what it means in time is the executor's.
impl Window {
    /// Checks the window's fields; the message says what is wrong.
    pub fn validate(&self) -> Result<(), WindowError> {
        self.zone()?;
        parse_time(&self.start)?;
        parse_time(&self.end)?;
        for day in &self.days {
            weekday(day)?;
        }
        Ok(())
    }

    fn zone(&self) -> Result<TimeZone, WindowError> {
        match &self.time_zone {
            Some(name) => TimeZone::get(name).map_err(|source| WindowError::Zone { name: name.clone(), source }),
            None => Ok(TimeZone::UTC),
        }
    }

    fn runs_on(&self, day: Weekday) -> bool {
        self.days.is_empty() || self.days.iter().any(|d| weekday(d).ok() == Some(day))
    }

    /// When the window that contains `at` closes, or `None` when `at` is outside it.
    pub fn closes_after(&self, at: Timestamp) -> Option<Timestamp> {
        let zone = self.zone().ok()?;
        let (start, end) = (parse_time(&self.start).ok()?, parse_time(&self.end).ok()?);
        let local = at.to_zoned(zone);
        let time = local.time();
        let today = local.date();
        let close_on = |date: jiff::civil::Date| date.to_datetime(end).to_zoned(local.time_zone().clone()).ok();
        if start <= end {
            let open = self.runs_on(today.weekday()) && time >= start && time < end;
            return open.then(|| close_on(today)).flatten().map(|z| z.timestamp());
        }
        // Overnight: open from `start` on a listed day until `end` the next morning.
        if time >= start && self.runs_on(today.weekday()) {
            return close_on(today.tomorrow().ok()?).map(|z| z.timestamp());
        }
        let yesterday = today.yesterday().ok()?;
        (time < end && self.runs_on(yesterday.weekday())).then(|| close_on(today)).flatten().map(|z| z.timestamp())
    }
}

/// When the windows allow work at `at`: until when (`None` when no window is open). No
/// windows at all means always, without end.
pub fn open_until(windows: &[Window], at: Timestamp) -> Option<Option<Timestamp>> {
    if windows.is_empty() {
        return Some(None);
    }
    windows.iter().filter_map(|w| w.closes_after(at)).max().map(Some)
}

fn parse_time(text: &str) -> Result<Time, WindowError> {
    let not_a_time = || WindowError::NotATime { text: text.to_string() };
    let (hours, minutes) = text.split_once(':').ok_or_else(not_a_time)?;
    let number = |part: &str| part.parse::<i8>().map_err(|_| not_a_time());
    Time::new(number(hours)?, number(minutes)?, 0, 0)
        .map_err(|source| WindowError::Time { text: text.to_string(), source })
}

fn weekday(text: &str) -> Result<Weekday, WindowError> {
    Ok(match text.to_ascii_lowercase().get(..3).unwrap_or_default() {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return Err(WindowError::NotADay { text: text.to_string() }),
    })
}

/// `2026-11-23T22:00:00+01:00[Europe/Berlin]`-style for messages.
pub fn show(at: Timestamp) -> String {
    Zoned::new(at, TimeZone::UTC).strftime("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(days: &[&str], start: &str, end: &str) -> Window {
        Window {
            days: days.iter().map(|d| d.to_string()).collect(),
            start: start.into(),
            end: end.into(),
            time_zone: Some("Europe/Berlin".into()),
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn overnight_windows_run_past_midnight_in_their_zone() {
        // Weeknights 22:00–06:00 Berlin (UTC+1 in November).
        let nights = window(&["mon", "tue", "wed", "thu", "fri"], "22:00", "06:00");
        assert_eq!(nights.closes_after(at("2026-11-23T20:59:00Z")), None, "Monday 21:59 Berlin");
        assert_eq!(nights.closes_after(at("2026-11-23T21:00:00Z")), Some(at("2026-11-24T05:00:00Z")));
        assert_eq!(nights.closes_after(at("2026-11-24T04:30:00Z")), Some(at("2026-11-24T05:00:00Z")), "Tuesday 05:30");
        assert_eq!(nights.closes_after(at("2026-11-22T02:00:00Z")), None, "Sunday 03:00: Saturday is not listed");
        let afternoons = window(&[], "13:00", "15:00");
        assert_eq!(afternoons.closes_after(at("2026-11-22T12:30:00Z")), Some(at("2026-11-22T14:00:00Z")));
        assert!(window(&["someday"], "1:00", "2:00").validate().is_err());
    }
}
