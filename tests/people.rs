//! Named people and their roles (issue 20), from the outside, on both
//! databases: a person added with a role signs in to the dashboard by name
//! and password and calls the API with their token; a viewer sees and
//! changes nothing, an approver decides on posts but not flags, an admin does
//! everything; sessions are random, stored hashed, and end at sign-out, when
//! idle or old, and when their person is removed or gets a new password; the
//! pages' data needs a signed-in person unless AOL_PUBLIC_READ.

mod common;

use aol::auth::{people, session, OperatorAuth};
use aol::engine::{Actor, Clock, Engine, OperatorError, Registry};
use aol::model::{FlagCommand, Principal, Right, Role};
use chrono::TimeDelta;
use common::{sign_in_as, TestCtx, TestServer};
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest, Sha256};

const PASSWORD: &str = "correct horse battery";

fn admin() -> Actor {
    Actor::new(Principal::person("ada", Role::Admin))
}

/// Adds `name` with `role` and a password; returns their API token.
async fn add(engine: &Engine, name: &str, role: Role) -> String {
    let token = people::add(engine, &admin(), name, role).await.unwrap();
    people::set_password(engine, &admin(), name, PASSWORD).await.unwrap();
    token
}

/// A cookie jar's `name=value` from a `Set-Cookie` header.
fn cookie(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

async fn post_ui(http: &reqwest::Client, server: &TestServer, cookie: &str, endpoint: &str, form: &str) -> StatusCode {
    http.post(server.url(&format!("/ui/{endpoint}")))
        .header("origin", &server.base)
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .unwrap()
        .status()
}

async fn people_are_added_listed_changed_and_removed(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let token = add(&engine, "vera", Role::Viewer).await;
    assert_eq!(token.len(), 64);
    let listed = people::list(&engine, &admin()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].name.as_str(), listed[0].role, listed[0].has_password), ("vera", Role::Viewer, true));
    assert_eq!(listed[0].created_by, "ada");
    let stored: Vec<(String, Option<String>)> =
        ctx.fetch_all_raw("SELECT token_sha256, password_hash FROM aol_people").await;
    assert_eq!(stored[0].0, hex::encode(Sha256::digest(&token)), "only the token's hash is kept");
    assert!(stored[0].1.as_deref().unwrap().starts_with("$argon2id$"), "the password as argon2id");
    assert!(!stored[0].1.as_deref().unwrap().contains(PASSWORD));

    assert!(matches!(people::add(&engine, &admin(), "vera", Role::Admin).await, Err(people::PeopleError::Exists(_))));
    for bad in ["Vera", "agent:bot", ""] {
        assert!(matches!(people::add(&engine, &admin(), bad, Role::Viewer).await, Err(people::PeopleError::Name(_))));
    }
    let short = people::set_password(&engine, &admin(), "vera", "short").await.unwrap_err();
    assert!(short.to_string().contains("12 to 1024 characters"), "{short}");

    people::set_role(&engine, &admin(), "vera", Role::Approver).await.unwrap();
    let who = people::identify(&engine, &token).await.unwrap();
    assert_eq!(who, Some(Principal::person("vera", Role::Approver)), "the new role holds at once");

    // Only an admin manages people; a refused change writes nothing.
    let vera = Actor::new(Principal::person("vera", Role::Approver));
    let refused = people::add(&engine, &vera, "mallory", Role::Admin).await.unwrap_err();
    assert!(refused.to_string().contains("forbidden: vera may not manage people"), "{refused}");
    assert!(people::set_role(&engine, &vera, "vera", Role::Admin).await.is_err());
    assert_eq!(people::list(&engine, &admin()).await.unwrap().len(), 1);
    assert_eq!(people::identify(&engine, &token).await.unwrap().unwrap().role(), Some(Role::Approver));

    people::remove(&engine, &admin(), "vera").await.unwrap();
    assert_eq!(people::identify(&engine, &token).await.unwrap(), None, "a removed person's token stops working");
    assert!(matches!(people::remove(&engine, &admin(), "vera").await, Err(people::PeopleError::NotFound(_))));
}

async fn the_engine_refuses_what_a_role_does_not_allow(ctx: TestCtx) {
    let engine = common::engine(&ctx.db).await;
    let before = ctx.db.flags_get().await.unwrap();
    let viewer = Actor::new(Principal::person("vera", Role::Viewer));
    let approver = Actor::new(Principal::person("abe", Role::Approver));
    let agent = Actor::new(Principal::Agent { name: "bot".into() });
    for actor in [&viewer, &approver, &agent] {
        let refused = engine.apply_flag_command(FlagCommand::Pause, actor).await.unwrap_err();
        assert!(matches!(refused, OperatorError::Forbidden(ref f) if f.right == Right::Control), "{refused}");
    }
    assert_eq!(ctx.db.flags_get().await.unwrap(), before, "a refused flag change writes nothing");

    let action = engine.enqueue("POST_SOCIAL", "k1", &json!({"text": "hi"}).as_object().unwrap().clone()).await;
    let id = action.unwrap().action.id;
    engine.apply_flag_command(FlagCommand::Pause, &admin()).await.unwrap();
    for actor in [&viewer, &agent] {
        assert!(matches!(engine.cancel(id, actor).await, Err(OperatorError::Forbidden(_))));
    }
    let payload = json!({"text": "from a viewer"}).as_object().unwrap().clone();
    assert!(engine.edit(id, &payload, &viewer).await.is_err());
    let refused = engine.enqueue_many(&viewer, &[aol::engine::NewItem::new("POST_SOCIAL", "k2", &payload)]).await;
    assert!(matches!(refused, Err(aol::engine::EnqueueError::Forbidden(_))));
    assert_eq!(ctx.db.action_get(id).await.unwrap().unwrap().status, "PENDING", "nothing changed");
    assert!(ctx.db.action_by_key("k2").await.unwrap().is_none(), "nothing enqueued");

    let cancelled = engine.cancel(id, &approver).await.unwrap();
    assert_eq!(cancelled.status, "CANCELLED", "an approver may cancel");
    assert!(ctx.db.logs_for_action(id).await.unwrap().iter().any(|l| l.message == "cancelled by abe"));
}

async fn a_person_signs_in_by_name_and_password(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let http = reqwest::Client::new();
    add(&server.engine, "vera", Role::Viewer).await;
    add(&server.engine, "abe", Role::Approver).await;

    // Not signed in: the pages' data, live events and media are closed.
    for (method, path) in
        [("POST", "/ui/dashboard"), ("POST", "/ui/action"), ("GET", "/ui/events"), ("GET", "/ui/media/00")]
    {
        let request = if method == "POST" {
            http.post(server.url(path)).header("content-type", "application/x-www-form-urlencoded").body("id=1")
        } else {
            http.get(server.url(path))
        };
        assert_eq!(request.send().await.unwrap().status(), StatusCode::UNAUTHORIZED, "{path}");
    }

    let wrong = http
        .post(server.url("/ui/login"))
        .header("origin", &server.base)
        .form(&[("name", "vera"), ("secret", "not her password")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("set-cookie").is_none());

    let vera = cookie(&sign_in_as(&http, &server.base, "vera", PASSWORD).await);
    let again = cookie(&sign_in_as(&http, &server.base, "vera", PASSWORD).await);
    assert_ne!(vera, again, "each sign-in gets its own random session");
    let value = vera.split_once('=').unwrap().1;
    let stored: Vec<(String,)> = ctx.fetch_all_raw("SELECT id_sha256 FROM aol_sessions").await;
    assert!(stored.iter().any(|(h,)| *h == hex::encode(Sha256::digest(value))), "stored as its hash");
    assert!(stored.iter().all(|(h,)| h != value), "never as itself");

    assert_eq!(post_ui(&http, &server, &vera, "dashboard", "").await, StatusCode::OK, "a viewer sees");
    assert_eq!(
        post_ui(&http, &server, &vera, "flag", "command=pause&confirm=false").await,
        StatusCode::FORBIDDEN,
        "a viewer changes nothing"
    );
    assert!(!ctx.db.flags_get().await.unwrap().paused);

    let abe = cookie(&sign_in_as(&http, &server.base, "abe", PASSWORD).await);
    let dashboard = http
        .post(server.url("/ui/dashboard"))
        .header("cookie", &abe)
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    let data: serde_json::Value = serde_json::from_str(&dashboard.text().await.unwrap()).unwrap();
    assert_eq!(data["me"], json!({"who": "abe", "role": "approver", "public_read": false}));
    let enqueued = post_ui(&http, &server, &abe, "enqueue", "key=abe-1&text=Hello").await;
    assert_eq!(enqueued, StatusCode::OK, "an approver writes posts");
    assert_eq!(post_ui(&http, &server, &abe, "flag", "command=pause&confirm=false").await, StatusCode::FORBIDDEN);

    // Signing out ends the session on the server: the old cookie no longer works.
    assert_eq!(post_ui(&http, &server, &vera, "logout", "").await, StatusCode::OK);
    assert_eq!(post_ui(&http, &server, &vera, "dashboard", "").await, StatusCode::UNAUTHORIZED);
    // A new password ends the person's sessions; so does their removal.
    assert_eq!(post_ui(&http, &server, &again, "dashboard", "").await, StatusCode::OK);
    people::set_password(&server.engine, &admin(), "vera", "another long password").await.unwrap();
    assert_eq!(post_ui(&http, &server, &again, "dashboard", "").await, StatusCode::UNAUTHORIZED);
    people::remove(&server.engine, &admin(), "abe").await.unwrap();
    assert_eq!(post_ui(&http, &server, &abe, "dashboard", "").await, StatusCode::UNAUTHORIZED);
}

async fn over_https_the_cookie_is_secure_and_host_only(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let http = reqwest::Client::new();
    let plain = common::sign_in(&http, &server.base, common::OPERATOR_TOKEN).await;
    assert!(plain.starts_with("aol_session=") && plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
    assert!(!plain.contains("Secure"), "{plain}");
    let login = http
        .post(server.url("/ui/login"))
        .header("origin", &server.base)
        .header("x-forwarded-proto", "https")
        .form(&[("name", ""), ("secret", common::OPERATOR_TOKEN)])
        .send()
        .await
        .unwrap();
    let secure = login.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(secure.starts_with("__Host-aol_session=") && secure.contains("Secure") && secure.contains("Path=/"));
    assert_eq!(post_ui(&http, &server, &cookie(&secure), "dashboard", "").await, StatusCode::OK);
}

async fn sessions_end_when_idle_or_old(ctx: TestCtx) {
    let clock = Clock::manual(chrono::Utc::now());
    let engine = Engine::new(ctx.db.clone(), clock.clone(), Registry::standard()).await.unwrap();
    let auth = OperatorAuth::from_token("session-test-token-0123456789");
    let abe = Principal::person("abe", Role::Approver);
    people::add(&engine, &admin(), "abe", Role::Approver).await.unwrap();

    let idle = session::open(&engine, &auth, &abe).await.unwrap();
    clock.advance(session::IDLE + TimeDelta::minutes(1));
    assert_eq!(session::principal(&engine, &auth, &idle).await.unwrap(), None, "idle too long");

    let used = session::open(&engine, &auth, &abe).await.unwrap();
    let step = session::IDLE - TimeDelta::hours(1);
    let mut elapsed = TimeDelta::zero();
    while elapsed + step < session::LIFETIME {
        clock.advance(step);
        elapsed += step;
        let who = session::principal(&engine, &auth, &used).await.unwrap();
        assert_eq!(who.as_ref(), Some(&abe), "used within the idle time, {elapsed} after sign-in");
    }
    clock.advance(step);
    assert_eq!(session::principal(&engine, &auth, &used).await.unwrap(), None, "in use, but past its lifetime");

    let token_session = session::open(&engine, &auth, &Principal::OperatorToken).await.unwrap();
    let other = OperatorAuth::from_token("another-token-0123456789");
    assert_eq!(session::principal(&engine, &other, &token_session).await.unwrap(), None, "a new token ends it");
    assert_eq!(session::principal(&engine, &auth, &token_session).await.unwrap(), Some(Principal::OperatorToken));
}

async fn public_read_shows_the_pages_but_changes_need_a_person(ctx: TestCtx) {
    let server = TestServer::start_with(&ctx.db, true).await;
    let http = reqwest::Client::new();
    assert_eq!(post_ui(&http, &server, "", "dashboard", "").await, StatusCode::OK);
    assert_eq!(http.get(server.url("/ui/events")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(post_ui(&http, &server, "", "flag", "command=pause&confirm=false").await, StatusCode::UNAUTHORIZED);
    assert!(!ctx.db.flags_get().await.unwrap().paused);
}

async fn the_api_takes_a_persons_token_with_their_role(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let http = reqwest::Client::new();
    let viewer = add(&server.engine, "vera", Role::Viewer).await;
    let approver = add(&server.engine, "abe", Role::Approver).await;
    let enqueue = |token: &str, key: &str| {
        http.post(server.url("/api/v1/actions"))
            .bearer_auth(token)
            .json(&json!({"action_type": "POST_SOCIAL", "idempotency_key": key, "payload": {"text": "hi"}}))
            .send()
    };
    let refused = enqueue(&viewer, "v-1").await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("vera may not enqueue"));
    assert!(ctx.db.action_by_key("v-1").await.unwrap().is_none());
    assert_eq!(enqueue(&approver, "a-1").await.unwrap().status(), StatusCode::CREATED);
    let flags = |token: &str| http.put(server.url("/api/v1/flags")).bearer_auth(token).json(&json!({"paused": true}));
    assert_eq!(flags(&approver).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(flags(&viewer).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert!(!ctx.db.flags_get().await.unwrap().paused);
    let read = http.get(server.url("/api/v1/actions")).bearer_auth(&viewer).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK, "a viewer reads");
}

on_both_databases!(
    people_are_added_listed_changed_and_removed,
    the_engine_refuses_what_a_role_does_not_allow,
    a_person_signs_in_by_name_and_password,
    over_https_the_cookie_is_secure_and_host_only,
    sessions_end_when_idle_or_old,
    public_read_shows_the_pages_but_changes_need_a_person,
    the_api_takes_a_persons_token_with_their_role,
);
