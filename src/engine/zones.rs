//! Time in a place: a schedule given as "2026-03-29 09:00 Europe/Berlin"
//! becomes the instant it names there, across daylight-saving changes; and a
//! channel's posting window ("mon-fri 08:00-20:00 Europe/Berlin"), outside
//! which its REAL posts wait for the next opening.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// The IANA zone `name` names, or why it names none.
pub fn zone(name: &str) -> Result<Tz, String> {
    name.trim().parse::<Tz>().map_err(|_| {
        format!("unknown time zone {name:?}: give an IANA name such as Europe/Berlin, America/New_York or UTC")
    })
}

/// The instant `local` names in `tz`. A time the clocks skip (spring
/// forward) is refused; a time they pass twice (fall back) is the first.
pub fn instant_in(local: NaiveDateTime, tz: Tz) -> Result<DateTime<Utc>, String> {
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(first, _) => Ok(first.with_timezone(&Utc)),
        chrono::LocalResult::None => Err(format!(
            "{} does not exist in {tz}: the clocks skip it (daylight saving); choose another time",
            local.format("%Y-%m-%d %H:%M")
        )),
    }
}

/// A time as people type it: RFC 3339 (`2026-11-28T09:00:00Z`), "2026-11-28
/// 09:00" (UTC), or "2026-03-29 09:00 Europe/Berlin" (that place's time);
/// with the zone, when one was named.
pub fn parse_time(text: &str) -> Result<(DateTime<Utc>, Option<Tz>), String> {
    let text = text.trim();
    if let Some((local, name)) = text.rsplit_once(' ').filter(|(_, name)| name.contains('/') || *name == "UTC") {
        let tz = zone(name)?;
        let local = parse_local(local.trim())
            .ok_or_else(|| format!("invalid time {local:?}: expected \"2026-03-29 09:00 {name}\""))?;
        return Ok((instant_in(local, tz)?, Some(tz)));
    }
    crate::model::parse_utc(text).map(|t| (t, None))
}

/// "2026-03-29 09:00", with seconds or a `T`, or not.
pub fn parse_local(text: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
}

/// `t` as people read it in `zone` (an IANA name): "2026-03-29 09:00 CEST
/// Europe/Berlin".
pub fn shown_in(t: DateTime<Utc>, zone: &str) -> Option<String> {
    let tz: Tz = zone.parse().ok()?;
    let local = t.with_timezone(&tz);
    Some(format!("{} {}", local.format("%Y-%m-%d %H:%M %Z"), tz.name()))
}

impl super::queue::Window {
    /// A window as agents send it: each time RFC 3339 with its offset, or a
    /// local time ("2026-03-29T09:00") read in `time_zone` (an IANA name).
    /// Errors name the field.
    pub fn given(
        scheduled_for: Option<&str>,
        not_after: Option<&str>,
        time_zone: Option<&str>,
    ) -> Result<super::queue::Window, String> {
        let tz = time_zone.map(zone).transpose().map_err(|e| format!("invalid time_zone: {e}"))?;
        let time = |field: &str, text: Option<&str>| -> Result<Option<DateTime<Utc>>, String> {
            let Some(text) = text.map(str::trim) else { return Ok(None) };
            if let Ok(t) = DateTime::parse_from_rfc3339(text) {
                return Ok(Some(t.with_timezone(&Utc)));
            }
            let local = parse_local(text).ok_or_else(|| {
                format!("invalid {field}: {text:?} is neither RFC 3339 (2026-03-29T09:00:00+02:00) nor a local time (2026-03-29T09:00)")
            })?;
            let tz = tz.ok_or_else(|| {
                format!("invalid {field}: {text:?} has no offset: add one (Z, +02:00) or give time_zone")
            })?;
            instant_in(local, tz).map(Some).map_err(|e| format!("invalid {field}: {e}"))
        };
        Ok(super::queue::Window {
            scheduled_for: time("scheduled_for", scheduled_for)?,
            not_after: time("not_after", not_after)?,
            time_zone: tz,
        })
    }
}

/// When a channel may post: some days of the week, from one time of day to
/// a later one, in a zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostingWindow {
    /// Monday first.
    pub days: [bool; 7],
    pub from: NaiveTime,
    pub to: NaiveTime,
    pub tz: Tz,
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl PostingWindow {
    /// From its parts as `aol channel window` takes them: days "mon-fri",
    /// "sat,sun" or "every"; times "08:00" and "20:00"; an IANA zone.
    pub fn new(days: &str, from: &str, to: &str, tz: &str) -> Result<PostingWindow, String> {
        let time = |t: &str| {
            NaiveTime::parse_from_str(t.trim(), "%H:%M")
                .map_err(|_| format!("invalid time of day {t:?}: expected HH:MM"))
        };
        let (from, to) = (time(from)?, time(to)?);
        if from >= to {
            return Err(format!(
                "the window must end after it starts ({} to {}); an overnight window is not supported",
                from.format("%H:%M"),
                to.format("%H:%M")
            ));
        }
        Ok(PostingWindow { days: parse_days(days)?, from, to, tz: zone(tz)? })
    }

    /// As stored and shown: "mon,tue,wed,thu,fri 08:00-20:00 Europe/Berlin".
    pub fn spec(&self) -> String {
        let days: Vec<&str> = DAY_NAMES.iter().zip(self.days).filter(|(_, on)| *on).map(|(d, _)| *d).collect();
        format!("{} {}-{} {}", days.join(","), self.from.format("%H:%M"), self.to.format("%H:%M"), self.tz.name())
    }

    /// Reads [`PostingWindow::spec`]'s form back.
    pub fn parse(spec: &str) -> Result<PostingWindow, String> {
        let parts: Vec<&str> = spec.split_whitespace().collect();
        let [days, times, tz] = parts[..] else { return Err(format!("invalid posting window {spec:?}")) };
        let (from, to) = times.split_once('-').ok_or_else(|| format!("invalid posting window {spec:?}"))?;
        PostingWindow::new(days, from, to, tz)
    }

    /// `None` when posts may go out at `now`; else when the window next opens.
    pub fn next_opening(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = now.with_timezone(&self.tz);
        let today = local.date_naive();
        if self.open_on(today) && local.time() >= self.from && local.time() < self.to {
            return None;
        }
        (0..=7)
            .map(|d| today + TimeDelta::days(d))
            .filter(|day| self.open_on(*day))
            .filter_map(|day| self.opening(day))
            .find(|open| *open > now)
    }

    fn open_on(&self, day: NaiveDate) -> bool {
        self.days[day.weekday().num_days_from_monday() as usize]
    }

    /// When the window opens on `day`; if the clocks skip its start, the first
    /// minute after the gap.
    fn opening(&self, day: NaiveDate) -> Option<DateTime<Utc>> {
        let start = day.and_time(self.from);
        (0..=180).find_map(|m| instant_in(start + TimeDelta::minutes(m), self.tz).ok())
    }
}

fn parse_days(text: &str) -> Result<[bool; 7], String> {
    let bad = || format!("invalid days {text:?}: expected e.g. mon-fri, sat,sun or every");
    let index = |d: &str| DAY_NAMES.iter().position(|n| *n == d.trim().to_ascii_lowercase()).ok_or_else(bad);
    let mut days = [false; 7];
    if text.trim().eq_ignore_ascii_case("every") {
        return Ok([true; 7]);
    }
    for part in text.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (index(a)?, index(b)?);
                // "fri-mon" wraps over the weekend.
                let mut d = a;
                loop {
                    days[d] = true;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days[index(part)?] = true,
        }
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn nine_in_berlin_is_the_right_instant_on_both_sides_of_a_change() {
        // CET (UTC+1) the day before summer time, CEST (UTC+2) on the day.
        assert_eq!(parse_time("2026-03-28 09:00 Europe/Berlin").unwrap().0, utc("2026-03-28T08:00:00Z"));
        assert_eq!(parse_time("2026-03-29 09:00 Europe/Berlin").unwrap().0, utc("2026-03-29T07:00:00Z"));
        assert_eq!(parse_time("2026-10-25 09:00 Europe/Berlin").unwrap().0, utc("2026-10-25T08:00:00Z"));
        assert!(parse_time("2026-03-29 02:30 Europe/Berlin").unwrap_err().contains("does not exist"));
        // 02:30 happens twice on 25 October: the first (still summer time).
        assert_eq!(parse_time("2026-10-25 02:30 Europe/Berlin").unwrap().0, utc("2026-10-25T00:30:00Z"));
        assert!(parse_time("2026-03-29 09:00 Mars/Olympus").unwrap_err().contains("unknown time zone"));
        assert_eq!(parse_time("2026-03-29 09:00").unwrap(), (utc("2026-03-29T09:00:00Z"), None));
        assert_eq!(
            shown_in(utc("2026-03-29T07:00:00Z"), "Europe/Berlin").unwrap(),
            "2026-03-29 09:00 CEST Europe/Berlin"
        );
    }

    #[test]
    fn a_window_opens_on_its_days_in_its_zone() {
        let w = PostingWindow::new("mon-fri", "08:00", "20:00", "Europe/Berlin").unwrap();
        assert_eq!(w.spec(), "mon,tue,wed,thu,fri 08:00-20:00 Europe/Berlin");
        assert_eq!(PostingWindow::parse(&w.spec()).unwrap(), w);
        // Wednesday 2026-12-02, 10:00 in Berlin (09:00 UTC): open.
        assert_eq!(w.next_opening(utc("2026-12-02T09:00:00Z")), None);
        // 21:00 in Berlin: tomorrow at 08:00 Berlin = 07:00 UTC.
        assert_eq!(w.next_opening(utc("2026-12-02T20:00:00Z")), Some(utc("2026-12-03T07:00:00Z")));
        // Friday evening: Monday 08:00.
        assert_eq!(w.next_opening(utc("2026-12-04T19:30:00Z")), Some(utc("2026-12-07T07:00:00Z")));
        // Summer time: 08:00 Berlin is 06:00 UTC.
        assert_eq!(w.next_opening(utc("2026-07-01T05:00:00Z")), Some(utc("2026-07-01T06:00:00Z")));
        let weekend = PostingWindow::new("sat,sun", "10:00", "12:00", "UTC").unwrap();
        assert_eq!(weekend.next_opening(utc("2026-12-02T11:00:00Z")), Some(utc("2026-12-05T10:00:00Z")));
        assert_eq!(
            PostingWindow::new("fri-mon", "10:00", "12:00", "UTC").unwrap().days,
            [true, false, false, false, true, true, true]
        );
        for (days, from, to, tz, says) in [
            ("mon-fry", "08:00", "20:00", "UTC", "invalid days"),
            ("mon", "8am", "20:00", "UTC", "HH:MM"),
            ("mon", "20:00", "08:00", "UTC", "overnight"),
            ("mon", "08:00", "20:00", "Berlin", "unknown time zone"),
        ] {
            let e = PostingWindow::new(days, from, to, tz).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }
}
