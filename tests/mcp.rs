//! The agents' door (issue 21): AOL's MCP tools as a real MCP client (rmcp's)
//! sees them, over streamable HTTP at `/mcp` and over stdio (`aol mcp
//! --agent NAME`), on both databases: tools/list with schemas and honest
//! annotations and no approving; the same key twice is one action;
//! preview_post's SHA-256 is the later PROOF artifact's; a forbidden call is
//! an MCP error and writes nothing; a bad payload's error names the field.

mod common;

use aol::auth::AgentToken;
use aol::engine::channels::ChannelRequest;
use aol::engine::Actor;
use common::{run_ticks, TestCtx, TestServer, OPERATOR_TOKEN};
use rmcp::model::CallToolRequestParams;
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ServiceError, ServiceExt};
use serde_json::{json, Value};

type Client = RunningService<RoleClient, ()>;

async fn over_http(server: &TestServer, token: &str) -> Client {
    let config = StreamableHttpClientTransportConfig::with_uri(server.url("/mcp")).auth_header(token);
    ().serve(StreamableHttpClientTransport::from_config(config)).await.expect("an MCP session over HTTP")
}

/// A tool's structured answer, or the MCP error's message.
async fn call(client: &Client, tool: &'static str, arguments: Value) -> Result<Value, String> {
    let params = CallToolRequestParams::new(tool).with_arguments(arguments.as_object().unwrap().clone());
    match client.call_tool(params).await {
        Ok(result) if result.is_error != Some(true) => Ok(result.structured_content.expect("structured content")),
        Ok(result) => Err(format!("{:?}", result.content)),
        Err(ServiceError::McpError(e)) => Err(e.message.to_string()),
        Err(e) => panic!("{tool}: {e}"),
    }
}

fn post(key: &str, payload: Value) -> Value {
    json!({"idempotency_key": key, "payload": payload})
}

async fn an_agent_sees_the_tools_and_enqueues_once_per_key(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let bot = AgentToken::create(&ctx.db, "bot", &[]).await.unwrap();
    let client = over_http(&server, &bot).await;

    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort();
    assert_eq!(
        names,
        ["cancel_action", "enqueue_post", "get_action", "list_actions", "list_channels", "preview_post"],
        "approving is never a tool"
    );
    let enqueue = tools.iter().find(|t| t.name == "enqueue_post").unwrap();
    let hints = enqueue.annotations.as_ref().unwrap();
    assert_eq!(
        (hints.idempotent_hint, hints.read_only_hint, hints.destructive_hint),
        (Some(true), Some(false), Some(false))
    );
    let schema = Value::Object((*enqueue.input_schema).clone());
    assert_eq!(schema["required"], json!(["idempotency_key", "payload"]), "{schema}");
    for field in ["scheduled_for", "not_after"] {
        assert!(schema["properties"][field].is_object(), "{field} in {schema}");
    }
    let cancel = tools.iter().find(|t| t.name == "cancel_action").unwrap();
    assert_eq!(cancel.annotations.as_ref().unwrap().destructive_hint, Some(true));
    assert!(tools
        .iter()
        .filter(|t| t.name.starts_with("list_") || t.name == "get_action")
        .all(|t| t.annotations.as_ref().is_some_and(|a| a.read_only_hint == Some(true))));

    // The same key twice: one action.
    let first = call(&client, "enqueue_post", post("mcp-1", json!({"text": "Hello from MCP"}))).await.unwrap();
    assert_eq!((&first["status"], &first["duplicate"]), (&json!("PENDING"), &json!(false)), "{first}");
    let again = call(&client, "enqueue_post", post("mcp-1", json!({"text": "Hello from MCP"}))).await.unwrap();
    assert_eq!((&again["id"], &again["duplicate"]), (&first["id"], &json!(true)));
    let stored = ctx.db.actions_recent(None, 10).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].enqueued_by.as_deref(), Some("agent:bot"));

    let action = call(&client, "get_action", json!({"id": first["id"]})).await.unwrap();
    assert_eq!((&action["idempotency_key"], &action["status"]), (&json!("mcp-1"), &json!("PENDING")));
    let listed = call(&client, "list_actions", json!({"status": "PENDING"})).await.unwrap();
    assert_eq!(listed["actions"].as_array().unwrap().len(), 1);
    let missing = call(&client, "get_action", json!({"id": 999_999})).await.unwrap_err();
    assert!(missing.contains("no action with id 999999"), "{missing}");

    // Bad input: the error names the field, and nothing is written.
    let bad = call(&client, "enqueue_post", post("mcp-2", json!({"text": "x", "langs": "en"}))).await.unwrap_err();
    assert!(bad.contains("langs"), "{bad}");
    let bad = call(&client, "enqueue_post", post("mcp-2", json!({"text": ""}))).await.unwrap_err();
    assert!(bad.contains("text"), "{bad}");
    let bad = call(&client, "enqueue_post", json!({"payload": {"text": "x"}})).await.unwrap_err();
    assert!(bad.contains("idempotency_key"), "{bad}");
    let bad = call(&client, "list_actions", json!({"status": "SOMEDAY"})).await.unwrap_err();
    assert!(bad.contains("status"), "{bad}");
    assert_eq!(ctx.db.actions_recent(None, 10).await.unwrap().len(), 1, "{}: a refusal wrote", ctx.backend_name());

    // Its own post it may take back before it runs.
    let cancelled = call(&client, "cancel_action", json!({"id": first["id"]})).await.unwrap();
    assert_eq!(cancelled["status"], "CANCELLED");
    client.cancel().await.unwrap();
}

async fn forbidden_calls_are_mcp_errors_and_write_nothing(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    // No token: the door does not open.
    let config = StreamableHttpClientTransportConfig::with_uri(server.url("/mcp"));
    assert!(().serve(StreamableHttpClientTransport::from_config(config)).await.is_err(), "no token, no session");

    let bot = AgentToken::create(&ctx.db, "bot", &["brand".to_string()]).await.unwrap();
    let rival = AgentToken::create(&ctx.db, "rival", &[]).await.unwrap();
    let operator = over_http(&server, OPERATOR_TOKEN).await;
    let theirs = call(&operator, "enqueue_post", post("op-1", json!({"text": "the team's"}))).await.unwrap();

    let client = over_http(&server, &bot).await;
    let refused =
        call(&client, "enqueue_post", post("b-1", json!({"channel": "elsewhere", "text": "hi"}))).await.unwrap_err();
    assert!(refused.contains("agent bot may post only to brand"), "{refused}");
    let refused = call(&client, "cancel_action", json!({"id": theirs["id"]})).await.unwrap_err();
    assert!(refused.contains(&format!("{}", theirs["id"])), "another's action does not exist for it: {refused}");
    let refused = call(&client, "get_action", json!({"id": theirs["id"]})).await.unwrap_err();
    assert!(refused.contains("no action"), "{refused}");
    // Another agent's list holds only its own.
    let other = over_http(&server, &rival).await;
    let listed = call(&other, "list_actions", json!({})).await.unwrap();
    assert_eq!(listed["actions"], json!([]));

    // A viewer may look but not enqueue.
    let vic =
        aol::auth::people::add(&server.engine, &Actor::system("test"), "vic", aol::model::Role::Viewer).await.unwrap();
    let viewer = over_http(&server, &vic).await;
    let refused = call(&viewer, "enqueue_post", post("v-1", json!({"text": "hi"}))).await.unwrap_err();
    assert!(refused.starts_with("forbidden"), "{refused}");
    let stored = ctx.db.actions_recent(None, 10).await.unwrap();
    assert_eq!(stored.len(), 1, "{}: only the operator's action", ctx.backend_name());
    assert_eq!(stored[0].status, "PENDING", "not cancelled by another");
}

async fn preview_post_is_the_proof_artifact_to_the_byte(ctx: TestCtx) {
    let server = TestServer::start(&ctx.db).await;
    let secret = tempfile::Builder::new().prefix("aol-mcp-secret-").tempfile_in(std::env::temp_dir()).unwrap();
    std::fs::write(secret.path(), "mcp-test-webhook-secret\n").unwrap();
    let request = ChannelRequest {
        name: "hook".into(),
        kind: "webhook".into(),
        url: "https://hook.example/in".into(),
        secret_file: Some(secret.path().file_name().unwrap().to_str().unwrap().into()),
        ..Default::default()
    };
    server.engine.channel_add(&request, &Actor::system("test")).await.unwrap();
    let limits = aol::storage::RateLimits { max_per_hour: Some(5), max_per_day: Some(20), min_spacing_seconds: None };
    server.engine.channel_limits("hook", &limits, &Actor::system("test")).await.unwrap();
    let bot = AgentToken::create(&ctx.db, "bot", &[]).await.unwrap();
    let client = over_http(&server, &bot).await;

    let channels = call(&client, "list_channels", json!({})).await.unwrap();
    let hook = &channels["channels"][0];
    assert_eq!((&hook["name"], &hook["kind"], &hook["armed"]), (&json!("hook"), &json!("webhook"), &json!(false)));
    assert_eq!(
        (&hook["max_per_day"], &hook["posts_left_today"], &hook["policy"]),
        (&json!(20), &json!(20), &json!("require_approval"))
    );

    // A post without a channel: the preview is PROOF's artifact, byte for byte.
    let payload = json!({"text": "Preview me", "langs": ["en"]});
    let preview = call(&client, "preview_post", post("pv-1", payload.clone())).await.unwrap();
    assert_eq!(preview["same_as_proof"], true, "{preview}");
    assert_eq!(ctx.db.actions_recent(None, 10).await.unwrap().len(), 0, "a preview stores nothing");
    let done = call(&client, "enqueue_post", post("pv-1", payload)).await.unwrap();
    run_ticks(&server.engine, 1).await;
    let id = done["id"].as_i64().unwrap();
    assert_eq!(ctx.db.action_get(id).await.unwrap().unwrap().status, "SUCCESS");
    let logs = ctx.db.logs_for_action(id).await.unwrap();
    let artifact = logs.iter().find_map(|l| l.artifact_sha256.clone()).expect("an artifact");
    assert_eq!(preview["sha256"], json!(artifact));

    // On a webhook the requests carry the action's id and time: said so, with the request shown.
    let preview =
        call(&client, "preview_post", post("pv-2", json!({"channel": "hook", "text": "Hi hook"}))).await.unwrap();
    assert_eq!((&preview["same_as_proof"], &preview["requests"]), (&json!(false), &json!(1)), "{preview}");
    assert!(preview["document"].as_str().unwrap().contains("Hi hook"));
    assert_eq!(preview["channel"]["name"], "hook");
    let too_long = "x".repeat(70_000);
    let refused = call(&client, "preview_post", post("pv-3", json!({"text": too_long}))).await.unwrap_err();
    assert!(refused.contains("bytes"), "{refused}");
}

async fn aol_mcp_serves_an_agent_over_stdio(ctx: TestCtx) {
    use rmcp::transport::TokioChildProcess;
    AgentToken::create(&ctx.db, "bot", &[]).await.unwrap();
    let child = |agent: &str| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_aol"));
        command.args(["mcp", "--agent", agent]).env("DATABASE_URL", &ctx.url).env_remove("AOL_TOKEN");
        TokioChildProcess::new(command).unwrap()
    };
    let client = ().serve(child("bot")).await.expect("an MCP session over stdio");
    assert_eq!(client.list_all_tools().await.unwrap().len(), 6);
    let first = call(&client, "enqueue_post", post("stdio-1", json!({"text": "over stdio"}))).await.unwrap();
    let again = call(&client, "enqueue_post", post("stdio-1", json!({"text": "over stdio"}))).await.unwrap();
    assert_eq!((&again["id"], &again["duplicate"]), (&first["id"], &json!(true)));
    client.cancel().await.unwrap();
    let stored = ctx.db.actions_recent(None, 10).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].enqueued_by.as_deref(), Some("agent:bot"));

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aol"))
        .args(["mcp", "--agent", "nobody"])
        .env("DATABASE_URL", &ctx.url)
        .env_remove("AOL_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no agent named \"nobody\""));
}

on_both_databases!(
    an_agent_sees_the_tools_and_enqueues_once_per_key,
    forbidden_calls_are_mcp_errors_and_write_nothing,
    preview_post_is_the_proof_artifact_to_the_byte,
    aol_mcp_serves_an_agent_over_stdio,
);
