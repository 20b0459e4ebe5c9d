//! The tools: `list_channels`, `preview_post`, `enqueue_post`, `get_action`,
//! `list_actions`, `cancel_action`. Each input has a JSON Schema; each
//! answer is structured content. A refusal is an MCP error that says why and
//! writes nothing (`forbidden: …`, or the check that failed, naming the field).

use chrono::{DateTime, Utc};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, ErrorData, RoleServer, ServerHandler};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::{ActionList, ActionView, MAX_LIMIT};
use crate::engine::adapters::POST_SOCIAL;
use crate::engine::{Actor, Engine, EnqueueError, NewItem, OperatorError, Window};
use crate::model::{ActionFilter, ActionStatus, ChannelView, Principal};

/// AOL's tools for one client: over stdio as a fixed principal, over HTTP
/// as each request's caller.
#[derive(Clone)]
pub struct Tools {
    engine: Engine,
    fixed: Option<Principal>,
    tool_router: ToolRouter<Tools>,
}

/// A post to enqueue, as `POST /api/v1/actions` takes it (POST_SOCIAL).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostInput {
    /// 1-200 printable characters. The same key again returns the action it
    /// made and adds nothing, so a call may always be retried.
    pub idempotency_key: String,
    /// `channel`, `text`, and optionally `langs`, `images`
    /// (`[{"media": "<sha256>", "alt": "…"}]`), `link`, `thread`; each
    /// platform's limits are checked.
    pub payload: Map<String, Value>,
    /// Not to be sent before this time: RFC 3339 with its offset, or a
    /// local time (2026-03-29T09:00) in time_zone.
    pub scheduled_for: Option<String>,
    /// Never sent after this time (then it ends EXPIRED); the same forms.
    pub not_after: Option<String>,
    /// An IANA time zone (Europe/Berlin) the local times are read in,
    /// across daylight-saving changes.
    pub time_zone: Option<String>,
}

impl PostInput {
    fn item(&self) -> Result<NewItem<'_>, ErrorData> {
        let window = Window::given(self.scheduled_for.as_deref(), self.not_after.as_deref(), self.time_zone.as_deref())
            .map_err(|e| ErrorData::invalid_params(e, None))?;
        Ok(NewItem { window, ..NewItem::new(POST_SOCIAL, &self.idempotency_key, &self.payload) })
    }
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Enqueued {
    pub id: i64,
    /// PENDING, or AWAITING_APPROVAL where the channel's policy wants a person's yes.
    pub status: String,
    /// The key was known: nothing was added and `id` is the action it made.
    pub duplicate: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdInput {
    /// The action's id.
    pub id: i64,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListInput {
    /// Only actions in this status (PENDING, RUNNING, SUCCESS, RETRY, FAILED,
    /// DLQ, CANCELLED, AWAITING_APPROVAL, EXPIRED, UNCONFIRMED, …).
    pub status: Option<String>,
    /// Page size, 1-500 [50].
    pub limit: Option<i64>,
    /// Only actions older than this id (the last page's `next_before_id`).
    pub before_id: Option<i64>,
}

/// A channel an agent may post to, and how much it may post now.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ChannelInfo {
    pub name: String,
    /// bluesky, mastodon or webhook.
    pub kind: String,
    /// The account (a handle) where there is one, else the server's URL.
    pub account: String,
    /// REAL posts go out only on an armed channel.
    pub armed: bool,
    /// For POST_SOCIAL: auto, require_approval or deny.
    pub policy: String,
    pub max_per_hour: Option<i64>,
    pub max_per_day: Option<i64>,
    pub min_spacing_seconds: Option<i64>,
    /// REAL posts sent today (UTC).
    pub posts_today: i64,
    /// How many more today's limit allows (none: no daily limit).
    pub posts_left_today: Option<i64>,
    /// When its next REAL post may go out, if not now, and why.
    pub next_allowed_utc: Option<DateTime<Utc>>,
    pub waiting_why: Option<String>,
    /// The platform's own limits where the server states them.
    pub max_characters: Option<i64>,
    pub max_media: Option<i64>,
    /// Every image needs alt text here.
    pub require_alt: bool,
}

impl From<ChannelView> for ChannelInfo {
    fn from(v: ChannelView) -> ChannelInfo {
        let c = v.channel;
        ChannelInfo {
            account: c.handle.clone().unwrap_or_else(|| c.base_url.clone()),
            posts_left_today: c.max_per_day.map(|max| (max - v.sent_today).max(0)),
            name: c.name,
            kind: c.kind,
            armed: c.armed,
            policy: v.policy,
            max_per_hour: c.max_per_hour,
            max_per_day: c.max_per_day,
            min_spacing_seconds: c.min_spacing_seconds,
            posts_today: v.sent_today,
            next_allowed_utc: v.next_post_utc,
            waiting_why: v.waiting_why,
            max_characters: c.max_characters,
            max_media: c.max_media,
            require_alt: c.require_alt,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ChannelList {
    pub channels: Vec<ChannelInfo>,
}

/// What enqueueing the post now would make; nothing was stored.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PreviewOutput {
    /// PENDING, or AWAITING_APPROVAL where its channel's policy wants a yes.
    pub status: String,
    pub policy: Option<String>,
    /// Its channel's limits and today's posts, if it names one.
    pub channel: Option<ChannelInfo>,
    /// The document PROOF would write: every request REAL would send (no
    /// secret is in them), or without a channel the post itself.
    pub document: String,
    pub sha256: String,
    pub requests: usize,
    pub url: Option<String>,
    /// True: the PROOF artifact of the post enqueued with this key will have
    /// this SHA-256. False where the requests carry the action's id or
    /// creation time (webhooks, Bluesky), known once it is enqueued.
    pub same_as_proof: bool,
    /// Why the requests cannot be built yet, if so.
    pub problem: Option<String>,
}

/// An engine refusal as an MCP error.
fn refused(e: impl std::fmt::Display, forbidden: bool, internal: bool) -> ErrorData {
    if internal {
        tracing::error!(error = %e, "MCP call failed");
        return ErrorData::internal_error("the database could not be read or written; see the server log", None);
    }
    if forbidden {
        return ErrorData::invalid_request(e.to_string(), None);
    }
    ErrorData::invalid_params(e.to_string(), None)
}

fn enqueue_refused(e: EnqueueError) -> ErrorData {
    let forbidden = matches!(e, EnqueueError::Forbidden(_) | EnqueueError::Denied(_));
    refused(&e, forbidden, matches!(e, EnqueueError::Store(_)))
}

fn operator_refused(e: OperatorError) -> ErrorData {
    let internal = matches!(e, OperatorError::Store(_));
    refused(&e, matches!(e, OperatorError::Forbidden(_)), internal)
}

#[tool_router]
impl Tools {
    pub fn new(engine: Engine, fixed: Option<Principal>) -> Tools {
        Tools { engine, fixed, tool_router: Tools::tool_router() }
    }

    fn actor(&self, context: &RequestContext<RoleServer>) -> Result<Actor, ErrorData> {
        super::actor_of(self.fixed.as_ref(), context)
            .ok_or_else(|| ErrorData::invalid_request("no caller: send a token as `Authorization: Bearer …`", None))
    }

    #[tool(
        description = "The channels this caller may post to: kind, account, armed, policy, rate limits, \
            posts left today and when the next may go out.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn list_channels(&self, context: RequestContext<RoleServer>) -> Result<Json<ChannelList>, ErrorData> {
        let actor = self.actor(&context)?;
        let views = self.engine.channels_for(&actor).await.map_err(operator_refused)?;
        Ok(Json(ChannelList { channels: views.into_iter().map(ChannelInfo::from).collect() }))
    }

    #[tool(
        description = "Check a post as enqueue_post would and show the exact document PROOF would write for it \
            (every request REAL would send) with its SHA-256 and the channel's limits. Stores nothing.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn preview_post(
        &self,
        Parameters(input): Parameters<PostInput>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<PreviewOutput>, ErrorData> {
        let actor = self.actor(&context)?;
        let p = self.engine.preview(&actor, &input.item()?).await.map_err(enqueue_refused)?;
        Ok(Json(PreviewOutput {
            status: p.status,
            policy: p.policy,
            channel: p.channel.map(ChannelInfo::from),
            document: p.document,
            sha256: p.sha256,
            requests: p.requests,
            url: p.url,
            same_as_proof: p.same_as_proof,
            problem: p.problem,
        }))
    }

    #[tool(
        description = "Enqueue a social post (POST_SOCIAL) for AOL to send under its limits. The same \
            idempotency_key again returns the action it made and adds nothing.",
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn enqueue_post(
        &self,
        Parameters(input): Parameters<PostInput>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<Enqueued>, ErrorData> {
        let actor = self.actor(&context)?;
        let done = self.engine.enqueue_one(&actor, &input.item()?).await.map_err(enqueue_refused)?;
        tracing::info!(action_id = done.action.id, by = %actor.who(), duplicate = done.duplicate, "enqueue over MCP");
        Ok(Json(Enqueued { id: done.action.id, status: done.action.status, duplicate: done.duplicate }))
    }

    #[tool(description = "One action by id, as the API shows it.", annotations(read_only_hint = true))]
    async fn get_action(
        &self,
        Parameters(IdInput { id }): Parameters<IdInput>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ActionView>, ErrorData> {
        let actor = self.actor(&context)?;
        actor.require(crate::model::Right::View).map_err(|e| refused(e, true, false))?;
        match self.engine.action_for(&actor, id).await.map_err(|e| refused(e, false, true))? {
            Some(action) => Ok(Json(action.into())),
            None => Err(ErrorData::resource_not_found(format!("no action with id {id}"), None)),
        }
    }

    #[tool(
        description = "Actions, newest first (an agent sees its own), optionally of one status; page with before_id.",
        annotations(read_only_hint = true)
    )]
    async fn list_actions(
        &self,
        Parameters(input): Parameters<ListInput>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ActionList>, ErrorData> {
        let actor = self.actor(&context)?;
        actor.require(crate::model::Right::View).map_err(|e| refused(e, true, false))?;
        let status = match input.status.as_deref() {
            Some(s) => Some(s.parse::<ActionStatus>().map_err(|e| refused(format!("status: {e}"), false, false))?),
            None => None,
        };
        let limit = input.limit.unwrap_or(50);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(refused(format!("limit must be between 1 and {MAX_LIMIT}, not {limit}"), false, false));
        }
        let filter = ActionFilter {
            status: status.map(|s| s.as_str().to_string()),
            before_id: input.before_id,
            ..Default::default()
        };
        let actions = self.engine.actions_for(&actor, &filter, limit).await.map_err(|e| refused(e, false, true))?;
        let next_before_id = if actions.len() as i64 == limit { actions.last().map(|a| a.id) } else { None };
        Ok(Json(ActionList { actions: actions.into_iter().map(ActionView::from).collect(), next_before_id }))
    }

    #[tool(
        description = "Cancel an action before it runs (PENDING or RETRY); an agent cancels only its own.",
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = false)
    )]
    async fn cancel_action(
        &self,
        Parameters(IdInput { id }): Parameters<IdInput>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ActionView>, ErrorData> {
        let actor = self.actor(&context)?;
        let action = self.engine.withdraw(id, &actor).await.map_err(operator_refused)?;
        Ok(Json(action.into()))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("aol", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "AOL sends social posts for you under hard limits (rate limits, approval, PROOF mode). \
                 list_channels to see where you may post; preview_post to check a post and see the exact \
                 requests; enqueue_post (retry with the same idempotency_key: it is never posted twice); \
                 get_action / list_actions to follow it; cancel_action before it runs.",
            )
    }
}
