//! Channels (SPEC §7): added disarmed, checked before anything is stored,
//! armed and disarmed with who and why recorded, removed; the secret is only
//! ever named, never stored; `aol channel …` does the same from a shell.

mod common;

use std::process::{Command, Output};

use aol::engine::channels::{resolve_secret, ChannelError, ChannelRequest, SecretError};
use aol::engine::Actor;
use common::TestCtx;
use secrecy::ExposeSecret;

fn ops() -> Actor {
    Actor::system("test")
}

fn bluesky(name: &str) -> ChannelRequest {
    ChannelRequest {
        name: name.into(),
        kind: "bluesky".into(),
        url: "https://bsky.social/".into(),
        handle: Some("brand.bsky.social".into()),
        secret_env: Some("AOL_SECRET_TEST_BSKY".into()),
        secret_file: None,
    }
}

async fn history(ctx: &TestCtx) -> Vec<(String, String, String, Option<String>)> {
    ctx.fetch_all_raw("SELECT changed_by, channel, change, reason FROM aol_channel_changes ORDER BY id").await
}

async fn a_channel_starts_disarmed_and_every_change_is_recorded(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let added = engine.channel_add(&bluesky("brand"), &ops()).await.unwrap();
    assert!(!added.armed, "a new channel starts disarmed");
    assert_eq!(added.base_url, "https://bsky.social", "normalised without the trailing slash");
    assert_eq!(added.secret_source(), "env AOL_SECRET_TEST_BSKY");
    assert_eq!(ctx.db.channels().await.unwrap(), vec![added.clone()]);

    let why = Actor::new(aol::model::Principal::person("ops", aol::model::Role::Admin)).because(Some("launch day"));
    let (armed, changed) = engine.channel_arm("brand", true, &why).await.unwrap();
    assert!(armed.armed && changed);
    let (_, changed) = engine.channel_arm("brand", true, &why).await.unwrap();
    assert!(!changed, "arming an armed channel changes nothing");
    let (disarmed, _) = engine.channel_arm("brand", false, &ops()).await.unwrap();
    assert!(!disarmed.armed);
    assert!(!ctx.db.channel_get("brand").await.unwrap().unwrap().armed);

    engine.channel_remove("brand", &ops()).await.unwrap();
    assert!(ctx.db.channel_get("brand").await.unwrap().is_none());
    assert_eq!(
        history(&ctx).await,
        vec![
            ("aol:test".into(), "brand".into(), "added".into(), None),
            ("ops".into(), "brand".into(), "armed".into(), Some("launch day".into())),
            ("aol:test".into(), "brand".into(), "disarmed".into(), None),
            ("aol:test".into(), "brand".into(), "removed".into(), None),
        ]
    );
}

async fn bad_channels_are_refused_with_the_reason_and_nothing_is_written(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    engine.channel_add(&bluesky("brand"), &ops()).await.unwrap();
    let cases: Vec<(ChannelRequest, &str)> = vec![
        (ChannelRequest { name: "Brand X".into(), ..bluesky("") }, "invalid channel name"),
        (ChannelRequest { name: "".into(), ..bluesky("") }, "invalid channel name"),
        (ChannelRequest { kind: "twitter".into(), ..bluesky("b2") }, "unknown channel kind"),
        (ChannelRequest { url: "bsky.social".into(), ..bluesky("b2") }, "invalid URL"),
        (ChannelRequest { url: "http://bsky.social".into(), ..bluesky("b2") }, "plain http"),
        (ChannelRequest { url: "ftp://bsky.social".into(), ..bluesky("b2") }, "expected https"),
        (ChannelRequest { url: "https://me:pw@bsky.social".into(), ..bluesky("b2") }, "must not carry a user"),
        (ChannelRequest { url: "https://bsky.social/?a=1".into(), ..bluesky("b2") }, "no query"),
        (ChannelRequest { handle: None, ..bluesky("b2") }, "needs --handle"),
        (ChannelRequest { secret_env: None, ..bluesky("b2") }, "exactly one of --secret-env"),
        (ChannelRequest { secret_file: Some("/run/x".into()), ..bluesky("b2") }, "exactly one of --secret-env"),
        (ChannelRequest { secret_env: Some("1BAD".into()), ..bluesky("b2") }, "invalid env var name"),
        (ChannelRequest { secret_env: Some("DATABASE_URL".into()), ..bluesky("b2") }, "named AOL_SECRET_"),
        (
            ChannelRequest { secret_env: None, secret_file: Some("/proc/self/environ".into()), ..bluesky("b2") },
            "not a path",
        ),
        (ChannelRequest { secret_env: None, secret_file: Some("../aol.db".into()), ..bluesky("b2") }, "not a path"),
    ];
    for (request, expected) in cases {
        let err = engine.channel_add(&request, &ops()).await.unwrap_err();
        assert!(matches!(err, ChannelError::Invalid(_)), "{request:?}: {err:?}");
        assert!(err.to_string().contains(expected), "{request:?}: {err}");
    }
    let err = engine.channel_add(&bluesky("brand"), &ops()).await.unwrap_err();
    assert!(matches!(err, ChannelError::Exists(_)), "{err:?}");
    assert!(matches!(engine.channel_arm("nope", true, &ops()).await, Err(ChannelError::NotFound(_))));
    assert!(matches!(engine.channel_remove("nope", &ops()).await, Err(ChannelError::NotFound(_))));
    assert_eq!(ctx.db.channels().await.unwrap().len(), 1, "only the first channel was stored");
    assert_eq!(history(&ctx).await.len(), 1, "only its addition was recorded");

    // http is accepted to this machine only (a test server).
    let local = ChannelRequest {
        kind: "webhook".into(),
        url: "http://127.0.0.1:9/hook".into(),
        handle: None,
        ..bluesky("local")
    };
    engine.channel_add(&local, &ops()).await.unwrap();

    // Unless AOL_ALLOW_PRIVATE_CHANNELS, a channel points at the public internet only.
    let strict =
        aol::engine::Engine::new(ctx.db.clone(), aol::engine::Clock::System, aol::engine::Registry::standard())
            .await
            .unwrap();
    for url in [
        "http://127.0.0.1:9/hook",
        "https://10.0.0.7/hook",
        "https://169.254.169.254/latest",
        "https://localhost/x",
        "https://[::1]/x",
    ] {
        let request = ChannelRequest { kind: "webhook".into(), url: url.into(), handle: None, ..bluesky("inside") };
        let err = strict.channel_add(&request, &ops()).await.unwrap_err();
        assert!(err.to_string().contains("AOL_ALLOW_PRIVATE_CHANNELS"), "{url}: {err}");
    }
    assert!(ctx.db.channel_get("inside").await.unwrap().is_none());
}

async fn the_secret_is_named_never_stored(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    let secret = "s3cret-token-value-0123456789";
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    let request = ChannelRequest {
        kind: "mastodon".into(),
        url: "https://mastodon.example".into(),
        handle: None,
        secret_env: None,
        secret_file: Some("token".into()),
        ..bluesky("masto")
    };
    let channel = engine.channel_add(&request, &ops()).await.unwrap();
    let folder = Some(dir.path());
    let resolved = resolve_secret(&channel, folder).unwrap();
    assert_eq!(resolved.expose_secret(), secret, "read from the file, its last newline dropped");
    assert!(!format!("{resolved:?}").contains(secret), "Debug of a secret redacts it");

    // Nothing in any table holds it.
    let rows: Vec<(String,)> =
        ctx.fetch_all_raw("SELECT name || kind || base_url || COALESCE(secret_file, '') FROM aol_channels").await;
    assert!(rows.iter().all(|(row,)| !row.contains(secret)));

    std::fs::write(&file, "").unwrap();
    let err = resolve_secret(&channel, folder).unwrap_err();
    assert!(matches!(err, SecretError::File(..)) && err.to_string().contains("empty"), "{err}");
    let err = resolve_secret(&channel, None).unwrap_err();
    assert!(err.to_string().contains("AOL_SECRETS_DIR is not set"), "{err}");
    let env = engine.channel_add(&bluesky("by-env"), &ops()).await.unwrap();
    let err = resolve_secret(&env, folder).unwrap_err();
    assert_eq!(err, SecretError::EnvMissing("AOL_SECRET_TEST_BSKY".into(), "by-env".into()));

    // A link in the folder that leads out of it is not followed.
    std::os::unix::fs::symlink("/etc/hostname", dir.path().join("escape")).unwrap();
    let escape = aol::model::Channel { secret_file: Some("escape".into()), ..channel.clone() };
    assert!(matches!(resolve_secret(&escape, folder), Err(SecretError::NotAllowed(..))));
    // A channel stored before the rule that names another place is refused when it would send.
    for (env, file) in [(Some("DATABASE_URL"), None), (None, Some("/proc/self/environ"))] {
        let old = aol::model::Channel {
            secret_env: env.map(str::to_string),
            secret_file: file.map(str::to_string),
            ..channel.clone()
        };
        let err = resolve_secret(&old, folder).unwrap_err();
        assert!(matches!(err, SecretError::NotAllowed(..)), "{err}");
        assert!(err.to_string().contains("AOL_SECRET_* or a file in AOL_SECRETS_DIR"), "{err}");
    }
}

on_both_databases!(
    a_channel_starts_disarmed_and_every_change_is_recorded,
    bad_channels_are_refused_with_the_reason_and_nothing_is_written,
    the_secret_is_named_never_stored,
    the_cli_manages_channels,
);

fn aol(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aol")).args(args).env("DATABASE_URL", url).output().expect("run aol")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn the_cli_manages_channels(ctx: TestCtx) {
    let add = [
        "channel",
        "add",
        "brand",
        "--kind",
        "bluesky",
        "--url",
        "https://bsky.social",
        "--handle",
        "brand.bsky.social",
        "--secret-env",
        "AOL_SECRET_BRAND_BSKY",
    ];
    let out = aol(&ctx.url, &add);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("disarmed"), "{}", text(&out.stdout));

    let out = aol(&ctx.url, &add);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("exists already"), "{}", text(&out.stderr));

    let out =
        aol(&ctx.url, &["channel", "add", "x", "--kind", "bluesky", "--url", "https://bsky.social", "--handle", "h"]);
    assert!(!out.status.success(), "a secret's place is required");
    assert!(text(&out.stderr).contains("--secret-env"), "{}", text(&out.stderr));

    let out = aol(&ctx.url, &["channel", "arm", "brand", "--reason", "go live"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("now armed"));

    let out = aol(&ctx.url, &["channel", "list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed[0]["name"], "brand");
    assert_eq!(listed[0]["armed"], true);
    assert_eq!(listed[0]["secret_env"], "AOL_SECRET_BRAND_BSKY");
    let out = aol(&ctx.url, &["channel", "list"]);
    assert!(text(&out.stdout).contains("env AOL_SECRET_BRAND_BSKY"), "{}", text(&out.stdout));

    let out = aol(&ctx.url, &["channel", "disarm", "nope"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no channel named \"nope\""), "{}", text(&out.stderr));

    let out = aol(&ctx.url, &["channel", "remove", "brand"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(ctx.db.channels().await.unwrap().is_empty());
}
