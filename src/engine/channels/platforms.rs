//! The platforms' shared HTTP client and what every send depends on: the
//! timeouts, where secret files are, and whether channels may point inside
//! (AOL_ALLOW_PRIVATE_CHANNELS; off: only the public internet, see `network`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::platform::Platform;
use super::{bluesky, mastodon, network, webhook};
use crate::model::{Channel, ChannelKind};

/// How long a platform request may take: to connect, and in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpTimeouts {
    pub connect: Duration,
    pub total: Duration,
}

impl Default for HttpTimeouts {
    fn default() -> HttpTimeouts {
        HttpTimeouts { connect: Duration::from_secs(10), total: Duration::from_secs(30) }
    }
}

/// What the platforms are built with (the defaults are the strict ones).
#[derive(Clone, Debug, Default)]
pub struct PlatformSettings {
    pub timeouts: HttpTimeouts,
    /// AOL_SECRETS_DIR: where channels' secret files are.
    pub secrets_dir: Option<PathBuf>,
    /// AOL_ALLOW_PRIVATE_CHANNELS: channels may post to this machine or a
    /// private network (a test server).
    pub private_networks: bool,
}

/// One client per platform kind, sharing one HTTP client: rustls, the
/// system's certificates (verification is never turned off), timeouts on
/// connecting and on the whole request, no redirects (a POST that is
/// redirected could post twice, or somewhere else), and (unless private
/// networks are allowed) only public addresses.
pub struct Platforms {
    bluesky: bluesky::Bluesky,
    pub(crate) mastodon: mastodon::Mastodon,
    webhook: webhook::Webhook,
    settings: PlatformSettings,
    /// The same client, for AOL's own requests (notifications).
    http: reqwest::Client,
}

impl Platforms {
    pub fn new(settings: PlatformSettings) -> Platforms {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(settings.timeouts.connect)
            .timeout(settings.timeouts.total)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("aol/", env!("CARGO_PKG_VERSION")));
        if !settings.private_networks {
            builder = builder.dns_resolver(std::sync::Arc::new(network::PublicOnly));
        }
        let http = builder.build().expect("the HTTP client's settings are valid");
        Platforms {
            bluesky: bluesky::Bluesky::new(http.clone()),
            mastodon: mastodon::Mastodon::new(http.clone()),
            webhook: webhook::Webhook::new(http.clone()),
            settings,
            http,
        }
    }

    /// The HTTP client, with the same rules as the channels' (timeouts, no
    /// redirects, public addresses only unless allowed).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Where channels' secret files are, if anywhere.
    pub fn secrets_dir(&self) -> Option<&Path> {
        self.settings.secrets_dir.as_deref()
    }

    /// Why requests may not go to `url`, if they may not (a private address
    /// written in it; names are checked as they are resolved).
    pub fn refuses(&self, url: &str) -> Option<String> {
        if self.settings.private_networks {
            return None;
        }
        match url::Url::parse(url) {
            Ok(url) => network::private_host(&url),
            Err(e) => Some(format!("invalid URL {url:?}: {e}")),
        }
    }

    pub fn get(&self, kind: ChannelKind) -> &dyn Platform {
        match kind {
            ChannelKind::Bluesky => &self.bluesky,
            ChannelKind::Mastodon => &self.mastodon,
            ChannelKind::Webhook => &self.webhook,
        }
    }

    /// The platform of `channel`'s kind, or why there is none.
    pub fn of(&self, channel: &Channel) -> Result<&dyn Platform, String> {
        let kind = channel
            .kind()
            .ok_or_else(|| format!("channel {:?} has an unknown kind {:?}", channel.name, channel.kind))?;
        Ok(self.get(kind))
    }
}
