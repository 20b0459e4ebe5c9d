//! Four eyes (issue 20), on both databases, against the platform stand-in:
//! whoever changed a post last cannot approve it; a policy that wants two
//! approvals sends nothing until two different people said yes, and the
//! same person saying yes twice is still one.

mod common;
mod fake_platform;
mod real_setup;

use aol::engine::{Actor, OperatorError};
use aol::model::{Policy, Principal, Role};
use common::{run_ticks, TestCtx};
use real_setup::{enqueue, ops, post, reread, sent, setup};

fn person(name: &str) -> Actor {
    Actor::new(Principal::person(name, Role::Approver))
}

async fn whoever_changed_a_post_last_cannot_approve_it(ctx: TestCtx) {
    let s = setup(&ctx).await;
    let action = enqueue(&s.engine, "four-eyes", "First draft").await;
    s.engine.edit(action.id, &post("Second draft, by Ana"), &person("ana")).await.unwrap();
    assert_eq!(reread(&s.engine, action.id).await.edited_by.as_deref(), Some("ana"));

    let refused = s.engine.approve(action.id, None, &person("ana")).await.unwrap_err();
    assert!(matches!(refused, OperatorError::Refused(ref why) if why.contains("four eyes")), "{refused}");
    assert_eq!(reread(&s.engine, action.id).await.status, "AWAITING_APPROVAL", "nothing changed");
    assert!(s.engine.db().approvals_for(action.id).await.unwrap().is_empty(), "no approval recorded");

    let approved = s.engine.approve(action.id, None, &person("ben")).await.unwrap();
    assert_eq!(approved.status, "PENDING", "someone else may");
    run_ticks(&s.engine, 1).await;
    assert_eq!(reread(&s.engine, action.id).await.status, "SUCCESS");
    assert_eq!(sent(&s).len(), 1);
}

async fn two_approvals_by_different_people(ctx: TestCtx) {
    let s = setup(&ctx).await;
    let row = s.engine.policy_set_with("brand", "POST_SOCIAL", Policy::RequireApproval, Some(2), &ops()).await.unwrap();
    assert_eq!(row.approvals, 2);
    let action = enqueue(&s.engine, "two-yes", "Needs two").await;

    let first = s.engine.approve(action.id, None, &person("ana")).await.unwrap();
    assert_eq!(first.status, "AWAITING_APPROVAL", "one yes of two");
    let logs = s.engine.db().logs_for_action(action.id).await.unwrap();
    assert!(logs.iter().any(|l| l.message.contains("approved by ana (1 of 2)")), "{logs:?}");
    run_ticks(&s.engine, 1).await;
    assert!(sent(&s).is_empty(), "nothing sent on one approval");

    let again = s.engine.approve(action.id, None, &person("ana")).await.unwrap_err();
    assert!(matches!(again, OperatorError::Refused(ref why) if why.contains("ana approved action")), "{again}");
    assert_eq!(reread(&s.engine, action.id).await.status, "AWAITING_APPROVAL", "the same person twice is one");

    let second = s.engine.approve(action.id, None, &person("ben")).await.unwrap();
    assert_eq!(second.status, "PENDING");
    run_ticks(&s.engine, 1).await;
    assert_eq!(reread(&s.engine, action.id).await.status, "SUCCESS");
    assert_eq!(sent(&s).len(), 1, "posted once");
    let deciders: Vec<String> =
        s.engine.db().approvals_for(action.id).await.unwrap().into_iter().map(|a| a.decided_by).collect();
    assert_eq!(deciders, ["ana", "ben"]);

    // A policy set again without --approvals keeps the number; 3 is refused.
    let kept = s.engine.policy_set("brand", "POST_SOCIAL", Policy::RequireApproval, &ops()).await.unwrap();
    assert_eq!(kept.approvals, 2);
    let three = s.engine.policy_set_with("brand", "POST_SOCIAL", Policy::RequireApproval, Some(3), &ops()).await;
    assert!(three.unwrap_err().to_string().contains("1 or 2"));
}

async fn an_edit_between_two_approvals_starts_over(ctx: TestCtx) {
    let s = setup(&ctx).await;
    s.engine.policy_set_with("brand", "POST_SOCIAL", Policy::RequireApproval, Some(2), &ops()).await.unwrap();
    let action = enqueue(&s.engine, "edited-between", "Before").await;
    s.engine.approve(action.id, None, &person("ana")).await.unwrap();
    s.engine.edit(action.id, &post("After"), &person("cy")).await.unwrap();
    let one = s.engine.approve(action.id, None, &person("ben")).await.unwrap();
    assert_eq!(one.status, "AWAITING_APPROVAL", "ana's yes was for the old request");
    let two = s.engine.approve(action.id, None, &person("ana")).await.unwrap();
    assert_eq!(two.status, "PENDING");
    run_ticks(&s.engine, 1).await;
    let sent = sent(&s);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].0.contains("After"), "{sent:?}");
}

on_both_databases!(
    whoever_changed_a_post_last_cannot_approve_it,
    two_approvals_by_different_people,
    an_edit_between_two_approvals_starts_over,
);
