//! `aol_channels` and its history `aol_channel_changes`: each change and its
//! history line are written in one transaction.

use chrono::{DateTime, Utc};
use sqlx::Connection as _;

use super::durable::on_disk;
use super::{on_pool, on_read_pool, Actor, Db, StoreError};
use crate::model::Channel;

macro_rules! channel_cols {
    () => {
        "name, kind, base_url, handle, secret_env, secret_file, armed, created_at_utc, updated_at_utc, max_per_hour, \
         max_per_day, min_spacing_seconds, wait_until_utc, require_alt, max_characters, chars_per_url, max_media, \
         max_image_bytes, posting_window"
    };
}

const INSERT: &str = concat!(
    "INSERT INTO aol_channels (name, kind, base_url, handle, secret_env, secret_file, armed, created_at_utc, \
     updated_at_utc, max_characters, chars_per_url, max_media, max_image_bytes) \
     VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7, $7, $8, $9, $10, $11) ON CONFLICT (name) DO NOTHING RETURNING ",
    channel_cols!()
);
const SELECT_ALL: &str = concat!("SELECT ", channel_cols!(), " FROM aol_channels ORDER BY name");
const SELECT_ONE: &str = concat!("SELECT ", channel_cols!(), " FROM aol_channels WHERE name = $1");
const DELETE: &str = "DELETE FROM aol_channels WHERE name = $1";
/// Only when it differs, so a row comes back exactly when something changed.
const SET_ARMED: &str = concat!(
    "UPDATE aol_channels SET armed = $2, updated_at_utc = $3 WHERE name = $1 AND armed <> $2 RETURNING ",
    channel_cols!()
);
/// The rate limits, all three at once (NULL: no such limit).
const SET_LIMITS: &str = concat!(
    "UPDATE aol_channels SET max_per_hour = $2, max_per_day = $3, min_spacing_seconds = $4, updated_at_utc = $5 \
     WHERE name = $1 RETURNING ",
    channel_cols!()
);
const SET_REQUIRE_ALT: &str = concat!(
    "UPDATE aol_channels SET require_alt = $2, updated_at_utc = $3 WHERE name = $1 RETURNING ",
    channel_cols!()
);
const SET_WINDOW: &str = concat!(
    "UPDATE aol_channels SET posting_window = $2, updated_at_utc = $3 WHERE name = $1 RETURNING ",
    channel_cols!()
);
/// Never earlier than a wait already asked for.
const SET_WAIT: &str = "UPDATE aol_channels SET wait_until_utc = $2 \
     WHERE name = $1 AND (wait_until_utc IS NULL OR wait_until_utc < $2)";
/// When the channel's REAL requests left since `$2`, oldest first.
const SENDS_SINCE: &str =
    "SELECT sent_at_utc FROM aol_channel_sends WHERE channel = $1 AND sent_at_utc >= $2 ORDER BY sent_at_utc";
/// Per channel, its REAL requests since `$1`.
const SEND_COUNTS: &str =
    "SELECT channel, COUNT(*) FROM aol_channel_sends WHERE sent_at_utc >= $1 GROUP BY channel ORDER BY channel";
/// The latest send of a channel.
const LAST_SEND: &str = "SELECT MAX(sent_at_utc) FROM aol_channel_sends WHERE channel = $1";
const INSERT_CHANGE: &str = "INSERT INTO aol_channel_changes (changed_at_utc, changed_by, channel, change, reason) \
     VALUES ($1, $2, $3, $4, $5)";

/// Appends one line to the channels' history on `$tx` (a macro: the body is
/// compiled once per database).
macro_rules! record {
    ($tx:expr, $now:expr, $actor:expr, $channel:expr, $change:expr) => {
        async {
            sqlx::query(INSERT_CHANGE)
                .bind($now)
                .bind($actor.who)
                .bind($channel)
                .bind($change)
                .bind($actor.reason)
                .execute(&mut *$tx)
                .await?;
            // The same change, as an event of the audit trail.
            let data = serde_json::json!({"channel": $channel, "change": $change, "reason": $actor.reason});
            let event = $crate::storage::AuditEntry::new($actor.who, None, "channel", data);
            $crate::storage::audit::append_audit!($tx, $now, std::slice::from_ref(&event)).await
        }
    };
}

/// A channel to add: everything but the stamps (it starts disarmed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewChannel {
    pub name: String,
    pub kind: crate::model::ChannelKind,
    pub base_url: String,
    pub handle: Option<String>,
    pub secret_env: Option<String>,
    pub secret_file: Option<String>,
    /// What its server says of its limits (Mastodon).
    pub limits: ServerLimits,
}

/// What a platform's server says of its limits (`None`: it does not say).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerLimits {
    pub max_characters: Option<i64>,
    pub chars_per_url: Option<i64>,
    pub max_media: Option<i64>,
    pub max_image_bytes: Option<i64>,
}

/// A channel's rate limits; `None`: no such limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimits {
    pub max_per_hour: Option<i64>,
    pub max_per_day: Option<i64>,
    pub min_spacing_seconds: Option<i64>,
}

/// What arming or disarming did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArmOutcome {
    Changed(Channel),
    AlreadySo(Channel),
    NoSuchChannel,
}

impl Db {
    /// Adds a channel, disarmed; `None` if one has that name already (nothing written).
    pub async fn channel_add(
        &self,
        new: &NewChannel,
        now: DateTime<Utc>,
        actor: &Actor<'_>,
    ) -> Result<Option<Channel>, StoreError> {
        on_pool!(self, |conn| {
            let mut tx = conn.begin().await?;
            let added: Option<Channel> = sqlx::query_as(INSERT)
                .bind(&new.name)
                .bind(new.kind.as_str())
                .bind(&new.base_url)
                .bind(&new.handle)
                .bind(&new.secret_env)
                .bind(&new.secret_file)
                .bind(now)
                .bind(new.limits.max_characters)
                .bind(new.limits.chars_per_url)
                .bind(new.limits.max_media)
                .bind(new.limits.max_image_bytes)
                .fetch_optional(&mut *tx)
                .await?;
            if added.is_some() {
                record!(tx, now, actor, &new.name, "added").await?;
            }
            tx.commit().await?;
            Ok(added)
        })
    }

    /// Every channel, by name.
    pub async fn channels(&self) -> Result<Vec<Channel>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(SELECT_ALL).fetch_all(&mut *conn).await?))
    }

    pub async fn channel_get(&self, name: &str) -> Result<Option<Channel>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(SELECT_ONE).bind(name).fetch_optional(&mut *conn).await?))
    }

    /// Removes a channel; false if there was none of that name.
    pub async fn channel_remove(&self, name: &str, now: DateTime<Utc>, actor: &Actor<'_>) -> Result<bool, StoreError> {
        on_pool!(self, |conn| {
            let mut tx = conn.begin().await?;
            let removed = sqlx::query(DELETE).bind(name).execute(&mut *tx).await?.rows_affected() == 1;
            if removed {
                record!(tx, now, actor, name, "removed").await?;
            }
            tx.commit().await?;
            Ok(removed)
        })
    }

    /// Arms (REAL posts may go out) or disarms a channel.
    pub async fn channel_set_armed(
        &self,
        name: &str,
        armed: bool,
        now: DateTime<Utc>,
        actor: &Actor<'_>,
    ) -> Result<ArmOutcome, StoreError> {
        on_pool!(self, |conn| {
            // An operator's decision: on disk before it returns (durable.rs).
            on_disk!(conn, |tx| {
                let changed: Option<Channel> =
                    sqlx::query_as(SET_ARMED).bind(name).bind(armed).bind(now).fetch_optional(&mut *tx).await?;
                let outcome = match changed {
                    Some(channel) => {
                        record!(tx, now, actor, name, if armed { "armed" } else { "disarmed" }).await?;
                        ArmOutcome::Changed(channel)
                    }
                    None => match sqlx::query_as(SELECT_ONE).bind(name).fetch_optional(&mut *tx).await? {
                        Some(channel) => ArmOutcome::AlreadySo(channel),
                        None => ArmOutcome::NoSuchChannel,
                    },
                };
                tx.commit().await?;
                Ok::<_, StoreError>(outcome)
            })
        })
    }

    /// Whether images on the channel need alt text, recorded in its history.
    /// `None` if there is no such channel.
    pub async fn channel_set_require_alt(
        &self,
        name: &str,
        required: bool,
        now: DateTime<Utc>,
        actor: &Actor<'_>,
    ) -> Result<Option<Channel>, StoreError> {
        on_pool!(self, |conn| {
            let mut tx = conn.begin().await?;
            let changed: Option<Channel> =
                sqlx::query_as(SET_REQUIRE_ALT).bind(name).bind(required).bind(now).fetch_optional(&mut *tx).await?;
            if changed.is_some() {
                record!(tx, now, actor, name, if required { "alt_required" } else { "alt_optional" }).await?;
            }
            tx.commit().await?;
            Ok(changed)
        })
    }

    /// Sets (or with `None` lifts) a channel's posting window, recorded in its
    /// history. `None` if there is no such channel.
    pub async fn channel_set_window(
        &self,
        name: &str,
        window: Option<&str>,
        now: DateTime<Utc>,
        actor: &Actor<'_>,
    ) -> Result<Option<Channel>, StoreError> {
        on_pool!(self, |conn| {
            let mut tx = conn.begin().await?;
            let changed: Option<Channel> =
                sqlx::query_as(SET_WINDOW).bind(name).bind(window).bind(now).fetch_optional(&mut *tx).await?;
            if changed.is_some() {
                // The window is one of the channel's limits (see `Channel::limits_text`).
                record!(tx, now, actor, name, "limits").await?;
            }
            tx.commit().await?;
            Ok(changed)
        })
    }

    /// Sets a channel's rate limits (`None`: no such limit), recorded in its
    /// history as `limits`. `None` if there is no such channel.
    pub async fn channel_set_limits(
        &self,
        name: &str,
        limits: &RateLimits,
        now: DateTime<Utc>,
        actor: &Actor<'_>,
    ) -> Result<Option<Channel>, StoreError> {
        on_pool!(self, |conn| {
            let mut tx = conn.begin().await?;
            let changed: Option<Channel> = sqlx::query_as(SET_LIMITS)
                .bind(name)
                .bind(limits.max_per_hour)
                .bind(limits.max_per_day)
                .bind(limits.min_spacing_seconds)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            if changed.is_some() {
                record!(tx, now, actor, name, "limits").await?;
            }
            tx.commit().await?;
            Ok(changed)
        })
    }

    /// The channel's platform asked to wait until `until` (kept if a later
    /// wait was asked already).
    pub async fn channel_wait_until(&self, name: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        on_pool!(self, |conn| {
            sqlx::query(SET_WAIT).bind(name).bind(until).execute(&mut *conn).await?;
            Ok(())
        })
    }

    /// When `channel`'s REAL requests left since `since`, oldest first.
    pub async fn channel_sends_since(
        &self,
        channel: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_scalar(SENDS_SINCE)
            .bind(channel)
            .bind(since)
            .fetch_all(&mut *conn)
            .await?))
    }

    /// When `channel`'s latest REAL request left.
    pub async fn channel_last_send(&self, channel: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_scalar(LAST_SEND).bind(channel).fetch_one(&mut *conn).await?))
    }

    /// How many REAL requests each channel sent since `since`.
    pub async fn channel_send_counts(&self, since: DateTime<Utc>) -> Result<Vec<(String, i64)>, StoreError> {
        on_read_pool!(self, |conn| Ok(sqlx::query_as(SEND_COUNTS).bind(since).fetch_all(&mut *conn).await?))
    }
}
