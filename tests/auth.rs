//! The operator token (issue 4 §6): generated once and stored as a hash,
//! shared by every server on the database; a configured token wins; reset
//! replaces it.

mod common;

use aol::auth::{session, OperatorAuth, TokenOrigin};
use aol::model::Principal;
use common::TestCtx;

async fn generated_once_then_stored(ctx: TestCtx) {
    let (first, origin) = OperatorAuth::resolve(&ctx.db, None).await.unwrap();
    let TokenOrigin::Generated(token) = origin else { panic!("first start must generate: {origin:?}") };
    assert_eq!(token.len(), 64);
    assert!(first.verify(&token));
    assert!(!first.verify("wrong"));

    // A second server (or a restart) gets the same token without seeing it.
    let (second, origin) = OperatorAuth::resolve(&ctx.db, None).await.unwrap();
    assert_eq!(origin, TokenOrigin::Stored);
    assert!(second.verify(&token));
    let stored = ctx.db.secret_hash("operator_token").await.unwrap().unwrap();
    assert!(!stored.contains(&token), "the token itself is never stored");
}

async fn configured_token_wins(ctx: TestCtx) {
    OperatorAuth::resolve(&ctx.db, None).await.unwrap();
    let (auth, origin) = OperatorAuth::resolve(&ctx.db, Some("configured-token-0123456789")).await.unwrap();
    assert_eq!(origin, TokenOrigin::Configured);
    assert!(auth.verify("configured-token-0123456789"));
}

async fn reset_replaces_the_token(ctx: TestCtx) {
    let (_, origin) = OperatorAuth::resolve(&ctx.db, None).await.unwrap();
    let TokenOrigin::Generated(old) = origin else { panic!() };
    let (before, _) = OperatorAuth::resolve(&ctx.db, None).await.unwrap();
    let engine = common::engine(&ctx.db).await;
    let old_session = session::open(&engine, &before, &Principal::OperatorToken).await.unwrap();
    assert_eq!(session::principal(&engine, &before, &old_session).await.unwrap(), Some(Principal::OperatorToken));
    let new = OperatorAuth::reset(&ctx.db).await.unwrap();
    let (auth, _) = OperatorAuth::resolve(&ctx.db, None).await.unwrap();
    assert!(auth.verify(&new));
    assert!(!auth.verify(&old));
    // Dashboard sessions opened with the old token end with it.
    assert_eq!(session::principal(&engine, &auth, &old_session).await.unwrap(), None);
    let new_session = session::open(&engine, &auth, &Principal::OperatorToken).await.unwrap();
    assert_eq!(session::principal(&engine, &auth, &new_session).await.unwrap(), Some(Principal::OperatorToken));
}

async fn concurrent_first_starts_agree(ctx: TestCtx) {
    let a = tokio::spawn({
        let db = ctx.db.clone();
        async move { OperatorAuth::resolve(&db, None).await.unwrap() }
    });
    let b = tokio::spawn({
        let db = ctx.db.clone();
        async move { OperatorAuth::resolve(&db, None).await.unwrap() }
    });
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let generated: Vec<String> = [&a.1, &b.1]
        .into_iter()
        .filter_map(|o| if let TokenOrigin::Generated(t) = o { Some(t.clone()) } else { None })
        .collect();
    assert_eq!(generated.len(), 1, "exactly one start may print a token");
    assert!(a.0.verify(&generated[0]) && b.0.verify(&generated[0]));
}

on_both_databases!(
    generated_once_then_stored,
    configured_token_wins,
    reset_replaces_the_token,
    concurrent_first_starts_agree,
);
