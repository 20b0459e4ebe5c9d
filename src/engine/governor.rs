//! The rate governor: when a channel may send its next REAL post, from its
//! limits and the posts it sent. One function, used by the gate before every
//! send and by the dashboard to show each channel's next allowed time.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use super::Engine;
use crate::model::{Channel, ChannelView};
use crate::storage::StoreError;

/// What the limits count: the channel's sends (oldest first) since
/// [`window_start`], and its latest send.
#[derive(Clone, Debug, Default)]
pub struct Sent {
    pub since_window_start: Vec<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
}

/// Why a channel may not post now, and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    pub until: DateTime<Utc>,
    pub why: String,
}

/// The start of the sends the limits look at: an hour ago, or the start of
/// today (UTC) if that is earlier.
pub fn window_start(now: DateTime<Utc>) -> DateTime<Utc> {
    (now - TimeDelta::hours(1)).min(day_start(now))
}

fn day_start(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::days(1)).unwrap_or(t)
}

/// Whether `channel` may ever hold a post (its limits or its posting window).
pub fn has_limits(channel: &Channel) -> bool {
    channel.max_per_hour.is_some()
        || channel.max_per_day.is_some()
        || channel.min_spacing_seconds.is_some()
        || channel.posting_window.is_some()
}

/// How many of `sent` went out today (UTC).
pub fn sent_today(sent: &Sent, now: DateTime<Utc>) -> i64 {
    let today = day_start(now);
    sent.since_window_start.iter().filter(|t| **t >= today).count() as i64
}

/// `None`: the channel may post at `now`. Otherwise the earliest time every
/// limit allows it, and why: each limit clears on its own and no post goes
/// out meanwhile, so the latest of their times clears them all.
pub fn hold(channel: &Channel, sent: &Sent, now: DateTime<Utc>) -> Option<Hold> {
    let mut holds: Vec<Hold> = Vec::new();
    if let Some(until) = channel.wait_until_utc.filter(|t| *t > now) {
        holds.push(Hold { until, why: "its platform asked to wait".into() });
    }
    if let Some(max) = channel.max_per_hour.filter(|m| *m > 0) {
        let hour_ago = now - TimeDelta::hours(1);
        let in_hour: Vec<&DateTime<Utc>> = sent.since_window_start.iter().filter(|t| **t > hour_ago).collect();
        let over = in_hour.len() as i64 - max;
        if over >= 0 {
            // The hour clears when enough of its posts are over an hour old.
            let until = *in_hour[over as usize] + TimeDelta::hours(1);
            holds.push(Hold { until, why: format!("{max} posts in the last hour, at most {max} per hour") });
        }
    }
    if let Some(max) = channel.max_per_day.filter(|m| *m > 0) {
        let today = sent_today(sent, now);
        if today >= max {
            let until = day_start(now) + TimeDelta::days(1);
            holds.push(Hold { until, why: format!("{today} posts today (UTC), at most {max} per day") });
        }
    }
    if let (Some(spacing), Some(last)) = (channel.min_spacing_seconds.filter(|s| *s > 0), sent.last) {
        let until = last + TimeDelta::seconds(spacing);
        if until > now {
            holds.push(Hold { until, why: format!("at least {spacing} s between posts") });
        }
    }
    // Outside its posting window: the next opening (a stored window that no
    // longer reads holds nothing back, and says so in the log).
    if let Some(spec) = &channel.posting_window {
        match super::zones::PostingWindow::parse(spec) {
            Ok(window) => {
                // The window opens after the other limits clear, if they clear later.
                let after = holds.iter().map(|h| h.until).max().unwrap_or(now).max(now);
                if let Some(until) = window.next_opening(after) {
                    holds.push(Hold { until, why: format!("outside its posting window ({spec})") });
                }
            }
            Err(e) => tracing::warn!(channel = %channel.name, error = %e, "posting window ignored"),
        }
    }
    holds.into_iter().max_by_key(|h| h.until)
}

impl Engine {
    /// What `channel`'s rate limits count at `now` (see [`governor::Sent`]).
    pub(super) async fn channel_sent(&self, channel: &str, now: DateTime<Utc>) -> Result<Sent, StoreError> {
        Ok(Sent {
            since_window_start: self.db().channel_sends_since(channel, window_start(now)).await?,
            last: self.db().channel_last_send(channel).await?,
        })
    }

    /// Every channel as the dashboard shows it: its policy for POST_SOCIAL,
    /// today's REAL posts, and when the next may go out.
    pub async fn channel_views(&self) -> Result<Vec<ChannelView>, StoreError> {
        let now = self.clock().now();
        let mut views = Vec::new();
        for channel in self.db().channels().await? {
            let (policy, _) = self.policy_of(&channel.name, super::adapters::POST_SOCIAL).await?;
            let sent = self.channel_sent(&channel.name, now).await?;
            let hold = hold(&channel, &sent, now);
            views.push(ChannelView {
                policy: policy.as_str().to_string(),
                sent_today: sent_today(&sent, now),
                next_post_utc: hold.as_ref().map(|h| h.until),
                waiting_why: hold.map(|h| h.why),
                channel,
            });
        }
        Ok(views)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn channel(per_hour: Option<i64>, per_day: Option<i64>, spacing: Option<i64>) -> Channel {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        Channel {
            name: "c".into(),
            kind: "webhook".into(),
            base_url: "https://x.example".into(),
            handle: None,
            secret_env: Some("S".into()),
            secret_file: None,
            armed: true,
            created_at_utc: t,
            updated_at_utc: t,
            max_per_hour: per_hour,
            max_per_day: per_day,
            min_spacing_seconds: spacing,
            wait_until_utc: None,
            require_alt: true,
            max_characters: None,
            chars_per_url: None,
            max_media: None,
            max_image_bytes: None,
            posting_window: None,
        }
    }

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, h, m, 0).unwrap()
    }

    fn sent(times: &[DateTime<Utc>]) -> Sent {
        Sent { since_window_start: times.to_vec(), last: times.last().copied() }
    }

    #[test]
    fn no_limits_no_hold() {
        assert_eq!(hold(&channel(None, None, None), &sent(&[at(10, 0), at(10, 1)]), at(10, 2)), None);
    }

    #[test]
    fn the_hour_clears_when_its_oldest_post_is_an_hour_old() {
        let c = channel(Some(2), None, None);
        let s = sent(&[at(9, 30), at(10, 0), at(10, 10)]);
        assert_eq!(
            hold(&c, &s, at(10, 20)).unwrap().until,
            at(11, 0),
            "two of three in the hour: the older goes at 11:00"
        );
        assert_eq!(hold(&c, &sent(&[at(10, 0)]), at(10, 20)), None);
    }

    #[test]
    fn the_next_post_of_a_full_day_waits_for_tomorrow() {
        let c = channel(None, Some(3), None);
        let s = sent(&[at(1, 0), at(5, 0), at(23, 0)]);
        let h = hold(&c, &s, at(23, 30)).unwrap();
        assert_eq!(h.until, Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0).unwrap());
        assert!(h.why.contains("per day"), "{}", h.why);
        assert_eq!(sent_today(&s, at(23, 30)), 3);
    }

    #[test]
    fn spacing_and_the_platform_wait_take_the_latest() {
        let mut c = channel(None, None, Some(600));
        let s = sent(&[at(10, 0)]);
        assert_eq!(hold(&c, &s, at(10, 5)).unwrap().until, at(10, 10));
        c.wait_until_utc = Some(at(10, 30));
        let h = hold(&c, &s, at(10, 5)).unwrap();
        assert_eq!(h.until, at(10, 30));
        assert!(h.why.contains("platform"));
        assert_eq!(hold(&c, &s, at(10, 31)), None);
    }

    #[test]
    fn a_post_outside_the_window_waits_for_its_opening() {
        // 2026-11-27 is a Friday; the window is weekdays 08:00-20:00 UTC.
        let mut c = channel(None, None, Some(600));
        c.posting_window = Some("mon,tue,wed,thu,fri 08:00-20:00 UTC".into());
        assert_eq!(hold(&c, &sent(&[]), at(10, 0)), None);
        let h = hold(&c, &sent(&[]), at(21, 0)).unwrap();
        assert_eq!(h.until, Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap(), "Monday morning");
        assert!(h.why.contains("posting window"), "{}", h.why);
        // Spacing that clears after closing time: the next opening after it.
        let h = hold(&c, &sent(&[at(19, 55)]), at(19, 58)).unwrap();
        assert_eq!(h.until, Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap());
    }
}
