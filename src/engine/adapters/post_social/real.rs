//! A REAL post: on an armed channel, with its secret, its requests built,
//! a repeat only while the platform still keeps its key, through the send
//! gate, then sent, and the platform's answer turned into what the engine
//! does next.

use super::{outgoing, PostSocial};
use crate::engine::adapters::{AdapterError, ChannelLookup, Done, Job, Lookups, Verdict};
use crate::engine::channels::{resolve_secret, Sent, SocialPost};

/// How long a REAL post waits on a disarmed channel before it looks again.
const DISARMED_WAIT: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

pub(super) async fn send(adapter: &PostSocial, job: &Job<'_>, post: &SocialPost) -> Result<Done, AdapterError> {
    let channel = match &job.channel {
        ChannelLookup::Found(channel) => channel.as_ref(),
        ChannelLookup::Missing(name) => {
            return Err(AdapterError::Permanent(format!(
                "real run unconfigured: there is no channel named {name:?}, nothing was posted"
            )))
        }
        ChannelLookup::NotNamed => {
            return Err(AdapterError::Permanent(
                "real run unconfigured: the payload names no \"channel\" to post to, nothing was posted".into(),
            ))
        }
    };
    if !channel.armed {
        return Err(AdapterError::Deferred {
            at: job.now + DISARMED_WAIT,
            reason: format!(
                "waiting: channel {:?} is disarmed, REAL posts go out once it is armed (aol channel arm {})",
                channel.name, channel.name
            ),
        });
    }
    let platform = adapter.platform(channel)?;
    if let Some(why) = adapter.platforms.refuses(&channel.base_url) {
        return Err(AdapterError::Permanent(format!("real run unconfigured: {why}; nothing was posted")));
    }
    let secret = resolve_secret(channel, adapter.platforms.secrets_dir())
        .map_err(|e| AdapterError::Permanent(format!("real run unconfigured: {e}")))?;
    let (prepared, materials) = adapter.requests(job.action, post, channel, job.resources, Lookups::Allowed).await?;
    let on = format!("{} ({})", channel.name, channel.kind);
    if let (Some(window), Some(reached)) = (platform.repeat_window(), job.action.reached_at_utc) {
        if job.now >= reached + window {
            return Err(AdapterError::Unconfirmed(format!(
                "an earlier request to {on} may have been posted (it answered with an error at {}); {} keeps a \
                 request's key for a limited time only, so sending it again now could post twice: check the \
                 account, then settle it as posted or send it again",
                reached.to_rfc3339(),
                channel.kind
            )));
        }
    }
    match job.gate.open(channel, &prepared.sha256).await {
        Verdict::Go => {}
        Verdict::AwaitApproval => return Err(AdapterError::AwaitApproval(prepared.sha256)),
        Verdict::Expired(why) => return Err(AdapterError::Expired(why)),
        Verdict::Wait { at, reason } => return Err(AdapterError::Deferred { at, reason }),
        Verdict::Denied(why) => return Err(AdapterError::Permanent(why)),
        Verdict::Closed(why) => return Err(AdapterError::Transient(format!("{why}: nothing was sent"))),
    }
    let out = outgoing(job.action, post, &materials);
    let posts = match post.parts.len() {
        1 => String::new(),
        n => format!(" ({n} posts)"),
    };
    match platform.send(channel, &secret, &out, &prepared, job.resources).await {
        Sent::Posted(remote) => Ok(Done {
            message: format!("REAL: posted to {on}{posts}: {} (request SHA-256 {})", remote.id, prepared.sha256),
            artifact: None,
            remote: Some(remote),
        }),
        Sent::AlreadyPosted(remote) => Ok(Done {
            message: format!(
                "REAL: {on} already had this post from an earlier attempt, nothing new was posted: {}",
                remote.id
            ),
            artifact: None,
            remote: Some(remote),
        }),
        Sent::RetryAt { at, why } => {
            // The platform's wait, on the engine's clock (the system's,
            // but in tests that move time by hand).
            let at = job.now + (at - chrono::Utc::now()).max(chrono::TimeDelta::zero());
            Err(AdapterError::ChannelWait {
                channel: channel.name.clone(),
                at,
                reason: format!("{on} asked to wait ({why}); next try at {}", at.to_rfc3339()),
            })
        }
        Sent::NotSent(e) => Err(AdapterError::Transient(format!("not posted to {on}: {e}"))),
        Sent::Reached(e) => Err(AdapterError::Reached(format!(
            "{on} answered with an error ({e}); the post may have been made, and a repeat with the same \
             Idempotency-Key cannot post it twice while {} keeps the key",
            channel.kind
        ))),
        Sent::Rejected(e) => Err(AdapterError::Permanent(format!("{on} refused the post: {e}"))),
        Sent::Unknown(e) => Err(AdapterError::Unconfirmed(format!(
            "the request to {on} may have been posted ({e}); it is not sent again by itself"
        ))),
    }
}
