//! The role table (issue 20), enforced on every door, on both databases:
//! every API route, every server function and every command of `aol` is
//! listed here with the right it needs, and each is called by a viewer, an
//! approver, an admin and an agent. A call the role does not allow is
//! refused (403, or "forbidden" from the command line) and changes nothing;
//! one it allows is not refused for want of a right. A route, server
//! function or command missing from the table fails the test.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use aol::auth::{people, AgentToken};
use aol::engine::Actor;
use aol::model::{Principal, Right, Role};
use aol::storage::Db;
use common::{sign_in_as, TestCtx, TestServer};
use reqwest::StatusCode;

/// Who may call it: a right, anyone (signing in, health), or AOL's own
/// processes (which whoever holds the database address starts).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Needs {
    Right(Right),
    Anyone,
    Process,
}
use Needs::{Anyone, Process};
const VIEW: Needs = Needs::Right(Right::View);
const ENQUEUE: Needs = Needs::Right(Right::Enqueue);
const EDIT: Needs = Needs::Right(Right::Edit);
const DECIDE: Needs = Needs::Right(Right::Decide);
const CONTROL: Needs = Needs::Right(Right::Control);
const CONFIGURE: Needs = Needs::Right(Right::Configure);
const MANAGE: Needs = Needs::Right(Right::Manage);

/// API routes: method, path (as the OpenAPI document has it), what it needs,
/// a path to call and a JSON body.
const API: &[(&str, &str, Needs, &str, &str)] = &[
    (
        "post",
        "/api/v1/actions",
        ENQUEUE,
        "/api/v1/actions",
        r#"{"action_type":"POST_SOCIAL","idempotency_key":"r-1","payload":{"text":"hi"}}"#,
    ),
    (
        "post",
        "/api/v1/actions/batch",
        ENQUEUE,
        "/api/v1/actions/batch",
        r#"{"actions":[{"action_type":"POST_SOCIAL","idempotency_key":"r-2","payload":{"text":"hi"}}]}"#,
    ),
    ("get", "/api/v1/actions", VIEW, "/api/v1/actions", ""),
    ("get", "/api/v1/actions/{id}", VIEW, "/api/v1/actions/1", ""),
    ("get", "/api/v1/actions/{id}/artifact", VIEW, "/api/v1/actions/1/artifact", ""),
    ("patch", "/api/v1/actions/{id}", EDIT, "/api/v1/actions/1", r#"{"payload":{"text":"changed"}}"#),
    ("post", "/api/v1/actions/{id}/approve", DECIDE, "/api/v1/actions/1/approve", "{}"),
    ("post", "/api/v1/actions/{id}/reject", DECIDE, "/api/v1/actions/1/reject", r#"{"reason":"no"}"#),
    ("get", "/api/v1/flags", VIEW, "/api/v1/flags", ""),
    ("put", "/api/v1/flags", CONTROL, "/api/v1/flags", r#"{"paused":true}"#),
    ("get", "/api/v1/audit/verify", VIEW, "/api/v1/audit/verify", ""),
    ("post", "/api/v1/media", ENQUEUE, "/api/v1/media", ""),
    (
        "get",
        "/api/v1/media/{sha256}",
        VIEW,
        "/api/v1/media/0000000000000000000000000000000000000000000000000000000000000000",
        "",
    ),
];

/// Server functions: path, what it needs, a form body.
const SERVER_FNS: &[(&str, Needs, &str)] = &[
    ("/ui/me", Anyone, ""),
    ("/ui/login", Anyone, "name=nobody&secret=wrong"),
    ("/ui/logout", Anyone, ""),
    ("/ui/dashboard", VIEW, ""),
    ("/ui/action", VIEW, "id=1"),
    ("/ui/flag", CONTROL, "command=pause&confirm=false"),
    ("/ui/enqueue", ENQUEUE, "key=ui-1&text=hi"),
    ("/ui/channel_add", CONFIGURE, "name=rc&kind=webhook&url=https://hooks.example/x&secret_env=AOL_SECRET_X"),
    ("/ui/channel_change", CONFIGURE, "name=brand&change=disarm"),
    ("/ui/notifier_change", CONFIGURE, "name=team&change=add&url=https%3A%2F%2Fhooks.example%2Ft&events=posted"),
    ("/ui/action_change", DECIDE, "id=1&change=cancel"),
    ("/ui/audit", Needs::Right(Right::Audit), "query=event%3Dflag"),
    ("/ui/audit_verify", VIEW, ""),
];

/// Commands of `aol`: its words, what it needs, the rest of a command line.
const COMMANDS: &[(&str, Needs, &[&str])] = &[
    ("serve", Process, &[]),
    ("daemon", Process, &[]),
    ("flags", CONTROL, &["pause"]),
    ("enqueue", ENQUEUE, &["--type", "POST_SOCIAL", "--key", "cli-1", "--payload", r#"{"text":"hi"}"#]),
    ("actions", VIEW, &[]),
    // An agent may serve itself (tests/mcp.rs); anyone else's needs an admin.
    ("mcp", MANAGE, &["--agent", "another-bot"]),
    ("notify add", CONFIGURE, &["team", "--url", "https://hooks.example/t", "--events", "posted"]),
    ("notify list", VIEW, &[]),
    ("notify remove", CONFIGURE, &["team"]),
    ("notify test", CONFIGURE, &["team"]),
    ("requeue", DECIDE, &["1"]),
    ("cancel", DECIDE, &["1"]),
    ("status", VIEW, &[]),
    ("token reset", MANAGE, &[]),
    ("token agent-add", MANAGE, &["new-bot"]),
    ("token agent-list", VIEW, &[]),
    ("token agent-revoke", MANAGE, &["bot"]),
    ("prune", CONFIGURE, &[]),
    ("show", VIEW, &["1"]),
    ("artifact", VIEW, &["1"]),
    ("backup", MANAGE, &["{tmp}/copy.db"]),
    (
        "channel add",
        CONFIGURE,
        &["c2", "--kind", "webhook", "--url", "https://hooks.example/y", "--secret-env", "AOL_SECRET_Y"],
    ),
    ("channel list", VIEW, &[]),
    ("channel remove", CONFIGURE, &["brand"]),
    ("channel arm", CONFIGURE, &["brand"]),
    ("channel disarm", CONFIGURE, &["brand"]),
    ("channel limits", CONFIGURE, &["brand", "--per-hour", "5"]),
    ("channel alt-text", CONFIGURE, &["brand", "optional"]),
    ("channel window", CONFIGURE, &["brand", "--days", "mon-fri", "--from", "08:00", "--to", "20:00", "--tz", "UTC"]),
    ("resolve", DECIDE, &["1", "resend"]),
    ("approve", DECIDE, &["1"]),
    ("reject", DECIDE, &["1", "--reason", "no"]),
    ("edit", EDIT, &["1", "--payload", r#"{"text":"changed"}"#]),
    ("policy set", CONFIGURE, &["brand", "auto"]),
    ("policy list", VIEW, &[]),
    ("media add", ENQUEUE, &["{tmp}/chart.png"]),
    ("operator add", MANAGE, &["newcomer", "--role", "viewer"]),
    ("operator password", MANAGE, &["vera"]),
    ("operator list", VIEW, &[]),
    ("operator remove", MANAGE, &["abe"]),
    ("operator role", MANAGE, &["vera", "admin"]),
    ("audit verify", VIEW, &[]),
    ("audit export", Needs::Right(Right::Audit), &[]),
];

const PASSWORD: &str = "a password long enough";

struct Callers {
    viewer: String,
    approver: String,
    admin: String,
    agent: String,
}

/// One of each, and a channel `brand` and an action #1 to act on.
async fn callers(engine: &aol::engine::Engine) -> Callers {
    let root = Actor::system("test");
    let mut tokens = Vec::new();
    for (name, role) in [("vera", Role::Viewer), ("abe", Role::Approver), ("ada", Role::Admin)] {
        tokens.push(people::add(engine, &root, name, role).await.unwrap());
        people::set_password(engine, &root, name, PASSWORD).await.unwrap();
    }
    let agent = AgentToken::create(engine.db(), "bot", &[]).await.unwrap();
    let request = aol::engine::channels::ChannelRequest {
        name: "brand".into(),
        kind: "webhook".into(),
        url: "https://hooks.example/brand".into(),
        secret_env: Some("AOL_SECRET_BRAND".into()),
        ..Default::default()
    };
    engine.channel_add(&request, &root).await.unwrap();
    // Action #1 is the agent's, so its own calls reach it.
    let payload = serde_json::json!({"text": "first"}).as_object().unwrap().clone();
    let bot = Actor::new(Principal::Agent { name: "bot".into() });
    engine.enqueue_many(&bot, &[aol::engine::NewItem::new("POST_SOCIAL", "first", &payload)]).await.unwrap();
    let [viewer, approver, admin]: [String; 3] = tokens.try_into().unwrap();
    Callers { viewer, approver, admin, agent }
}

/// Everything a refused call must leave as it was.
async fn snapshot(ctx: &TestCtx) -> String {
    let db: &Db = &ctx.db;
    let tables = ["aol_actions", "aol_channels", "aol_policies", "aol_people", "aol_secrets", "aol_flag_changes"];
    let mut all = format!("{:?}", db.flags_get().await.unwrap().paused);
    for table in tables {
        let rows: Vec<(i64,)> = ctx.fetch_all_raw(&format!("SELECT COUNT(*) FROM {table}")).await;
        all += &format!(" {table}={}", rows[0].0);
    }
    let actions = db.actions_recent(None, 100).await.unwrap();
    all + &format!("{:?}", actions.iter().map(|a| (&a.status, &a.payload_json)).collect::<Vec<_>>())
}

fn allowed(needs: Needs, who: &Principal) -> bool {
    match needs {
        Needs::Right(right) => who.may(right),
        Anyone | Process => true,
    }
}

async fn every_route_has_a_rule(_ctx: TestCtx) {
    let (_, doc) = aol::api::router_and_doc();
    let mut routes = BTreeSet::new();
    for (path, item) in doc.paths.paths.iter() {
        let json = serde_json::to_value(item).unwrap();
        for method in ["get", "post", "put", "patch", "delete"] {
            if json.get(method).is_some() {
                routes.insert(format!("{method} {path}"));
            }
        }
    }
    let listed: BTreeSet<String> = API.iter().map(|(m, p, ..)| format!("{m} {p}")).collect();
    assert_eq!(routes, listed, "every API route has a rule here, and every rule a route");

    let fns: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path.to_string()).collect();
    let listed: BTreeSet<String> = SERVER_FNS.iter().map(|(p, ..)| p.to_string()).collect();
    assert_eq!(fns, listed, "every server function has a rule here");

    fn leaves(command: &clap::Command, prefix: &str, found: &mut BTreeSet<String>) {
        for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = format!("{prefix}{}", sub.get_name());
            if sub.get_subcommands().any(|s| s.get_name() != "help") {
                leaves(sub, &format!("{name} "), found);
            } else {
                found.insert(name);
            }
        }
    }
    let mut commands = BTreeSet::new();
    leaves(&aol::cli::definition(), "", &mut commands);
    let listed: BTreeSet<String> = COMMANDS.iter().map(|(c, ..)| c.to_string()).collect();
    assert_eq!(commands, listed, "every command has a rule here");
}

async fn the_api_holds_each_role_to_the_table(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let c = callers(&server.engine).await;
    let http = reqwest::Client::new();
    let people = [
        (Principal::person("vera", Role::Viewer), &c.viewer),
        (Principal::Agent { name: "bot".into() }, &c.agent),
        (Principal::person("abe", Role::Approver), &c.approver),
        (Principal::person("ada", Role::Admin), &c.admin),
    ];
    let mut failures = Vec::new();
    for (who, token) in &people {
        for (method, route, needs, path, body) in API {
            let before = snapshot(&ctx).await;
            let mut request = http.request(method.to_uppercase().parse().unwrap(), server.url(path)).bearer_auth(token);
            request = match *route {
                "/api/v1/media" => {
                    request.header("content-type", "image/png").body(&include_bytes!("fixtures/chart.png")[..])
                }
                _ if !body.is_empty() => request.header("content-type", "application/json").body(*body),
                _ => request,
            };
            let status = request.send().await.unwrap().status();
            let refused = status == StatusCode::FORBIDDEN || status == StatusCode::UNAUTHORIZED;
            if allowed(*needs, who) == refused {
                failures.push(format!("{who} {method} {route}: {status}"));
            }
            if refused && snapshot(&ctx).await != before {
                failures.push(format!("{who} {method} {route}: refused but changed something"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

async fn the_pages_hold_each_role_to_the_table(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    callers(&server.engine).await;
    let http = reqwest::Client::new();
    let mut failures = Vec::new();
    for (who, name) in [(Role::Viewer, "vera"), (Role::Approver, "abe"), (Role::Admin, "ada")] {
        let who = Principal::person(name, who);
        for (path, needs, body) in SERVER_FNS {
            let session = sign_in_as(&http, &server.base, name, PASSWORD).await;
            let cookie = session.split(';').next().unwrap().to_string();
            let before = snapshot(&ctx).await;
            let status = http
                .post(server.url(path))
                .header("origin", &server.base)
                .header("cookie", &cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(*body)
                .send()
                .await
                .unwrap()
                .status();
            let refused = status == StatusCode::FORBIDDEN || status == StatusCode::UNAUTHORIZED;
            let expect_refused = !allowed(*needs, &who) || *path == "/ui/login";
            if expect_refused != refused {
                failures.push(format!("{who} {path}: {status}"));
            }
            if refused && snapshot(&ctx).await != before {
                failures.push(format!("{who} {path}: refused but changed something"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

async fn the_command_line_holds_each_role_to_the_table(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let c = callers(&engine).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("chart.png"), include_bytes!("fixtures/chart.png")).unwrap();
    let tmp = dir.path().display().to_string();
    let mut failures = Vec::new();
    let people = [
        (Principal::person("vera", Role::Viewer), &c.viewer),
        (Principal::Agent { name: "bot".into() }, &c.agent),
        (Principal::person("abe", Role::Approver), &c.approver),
    ];
    for (who, token) in &people {
        for (words, needs, rest) in COMMANDS {
            if *needs == Process || allowed(*needs, who) {
                continue; // what is allowed runs in the other tests; here only refusals
            }
            let before = snapshot(&ctx).await;
            let args: Vec<String> =
                words.split(' ').map(str::to_string).chain(rest.iter().map(|a| a.replace("{tmp}", &tmp))).collect();
            let out = Command::new(env!("CARGO_BIN_EXE_aol"))
                .args(&args)
                .env("DATABASE_URL", &ctx.url)
                .env("AOL_TOKEN", token)
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            if out.status.success() || !stderr.contains("forbidden") {
                failures.push(format!("{who} aol {words}: {:?} {stderr}", out.status.code()));
            }
            if snapshot(&ctx).await != before {
                failures.push(format!("{who} aol {words}: refused but changed something"));
            }
        }
    }
    // An admin's token may do them all (a sample that changes state).
    for args in [vec!["flags", "pause"], vec!["operator", "role", "vera", "approver"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_aol"))
            .args(&args)
            .env("DATABASE_URL", &ctx.url)
            .env("AOL_TOKEN", &c.admin)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let changes = ctx.db.flag_changes_recent(1).await.unwrap();
    assert_eq!(changes[0].changed_by, "ada", "recorded under the token's person");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

on_both_databases!(
    every_route_has_a_rule,
    the_api_holds_each_role_to_the_table,
    the_pages_hold_each_role_to_the_table,
    the_command_line_holds_each_role_to_the_table,
);
