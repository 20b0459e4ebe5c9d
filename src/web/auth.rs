//! Signing in to the dashboard: a person by name and password, or the
//! operator token alone (the break-glass admin). A session is a random value
//! in an HttpOnly, SameSite=Strict cookie (see `auth::session`); every server
//! function asks [`ssr::require`] for the right it needs, and the engine
//! checks it again.

use leptos::prelude::*;

use crate::model::Me;

/// The session cookie over plain http (a local dashboard).
pub const COOKIE: &str = "aol_session";
/// The session cookie over https: the `__Host-` prefix makes the browser
/// keep it only when Secure, for this host alone, on every path.
pub const SECURE_COOKIE: &str = "__Host-aol_session";

/// What a page's data call answers when nobody is signed in (and
/// AOL_PUBLIC_READ is off).
pub const SIGN_IN_TO_SEE: &str = "sign in to see AOL";

/// Whether a page's data call was refused for want of a session.
pub fn wants_sign_in(e: &ServerFnError) -> bool {
    e.to_string().contains(SIGN_IN_TO_SEE)
}

/// Who this browser is signed in as, and whether AOL lets anyone look.
#[server(prefix = "/ui", endpoint = "me", output = crate::web::codec::JsonText)]
pub async fn get_me() -> Result<Me, ServerFnError> {
    ssr::me().await
}

/// Checks a name and password (or, with no name, the operator token) and,
/// when right, opens a session in a cookie.
#[server(prefix = "/ui", endpoint = "login", output = crate::web::codec::JsonText)]
pub async fn login(#[server(default)] name: String, secret: String) -> Result<(), ServerFnError> {
    use crate::model::Principal;
    use crate::web::state::internal_error;
    ssr::require_same_origin()?;
    let state = expect_context::<crate::web::state::AppState>();
    if let Err(wait) = state.auth.sign_ins().check() {
        ssr::set_status(http::StatusCode::TOO_MANY_REQUESTS);
        let seconds = wait.as_secs() + 1;
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
        }
        return Err(ServerFnError::new(format!(
            "too many wrong sign-ins in the last minute: try again in {seconds} s (the command line works meanwhile)"
        )));
    }
    let name = name.trim().to_ascii_lowercase();
    let who = if name.is_empty() {
        state.auth.verify(secret.trim()).then_some(Principal::OperatorToken)
    } else {
        crate::auth::people::check_password(&state.engine, &name, &secret).await.map_err(internal_error)?
    };
    let Some(who) = who else {
        state.auth.sign_ins().failed();
        tracing::warn!(name = %name, "dashboard sign-in refused");
        let data = serde_json::json!({"name": name});
        state.engine.audit("aol:dashboard", None, "sign_in_refused", data).await;
        ssr::set_status(http::StatusCode::UNAUTHORIZED);
        return Err(ServerFnError::new(if name.is_empty() {
            "that is not the operator token (a person signs in with their name and password)"
        } else {
            "wrong name or password"
        }));
    };
    let value = crate::auth::session::open(&state.engine, &state.auth, &who).await.map_err(internal_error)?;
    tracing::info!(who = %who, "dashboard sign-in");
    state.engine.audit(&who.label(), None, "signed_in", serde_json::json!({"via": "dashboard"})).await;
    ssr::set_cookie(ssr::session_cookie(value, crate::auth::session::LIFETIME.num_seconds()));
    Ok(())
}

/// Ends this browser's session, on the server too.
#[server(prefix = "/ui", endpoint = "logout", output = crate::web::codec::JsonText)]
pub async fn logout() -> Result<(), ServerFnError> {
    ssr::require_same_origin()?;
    if let Some(value) = ssr::cookie_value() {
        let engine = crate::web::state::engine();
        if let Some(who) = ssr::principal().await? {
            engine.audit(&who.label(), None, "signed_out", serde_json::json!({"via": "dashboard"})).await;
        }
        crate::auth::session::close(&engine, &value).await.map_err(crate::web::state::internal_error)?;
    }
    ssr::set_cookie(ssr::session_cookie(String::new(), 0));
    Ok(())
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use http::header::{COOKIE as COOKIE_HEADER, HOST, ORIGIN, SET_COOKIE};
    use http::request::Parts;
    use http::{HeaderMap, HeaderValue, StatusCode};
    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;

    use super::{COOKIE, SECURE_COOKIE};
    use crate::engine::Actor;
    use crate::model::{Me, Principal, Right};

    pub fn set_status(status: StatusCode) {
        if let Some(response) = use_context::<ResponseOptions>() {
            response.set_status(status);
        }
    }

    pub fn set_cookie(cookie: cookie::Cookie<'static>) {
        if let (Some(response), Ok(value)) =
            (use_context::<ResponseOptions>(), HeaderValue::from_str(&cookie.to_string()))
        {
            response.append_header(SET_COOKIE, value);
        }
    }

    /// Whether the browser reached AOL over https (directly, or through a
    /// proxy that says so).
    fn over_https(headers: &HeaderMap) -> bool {
        let forwarded = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok());
        forwarded.is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
    }

    /// The session cookie holding `value` for `max_age` seconds (0: delete):
    /// `Secure` and `__Host-` over https.
    pub fn session_cookie(value: String, max_age: i64) -> cookie::Cookie<'static> {
        let https = use_context::<Parts>().is_some_and(|p| over_https(&p.headers));
        cookie::Cookie::build((if https { SECURE_COOKIE } else { COOKIE }, value))
            .http_only(true)
            .secure(https)
            .same_site(cookie::SameSite::Strict)
            .path("/")
            .max_age(cookie::time::Duration::seconds(max_age))
            .build()
    }

    /// The session value this request carries, if any.
    pub fn cookie_value() -> Option<String> {
        let parts = use_context::<Parts>()?;
        session_value(&parts.headers)
    }

    /// The session value in `headers`' cookies, if any.
    pub fn session_value(headers: &HeaderMap) -> Option<String> {
        headers
            .get_all(COOKIE_HEADER)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(cookie::Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|c| (c.name() == COOKIE || c.name() == SECURE_COOKIE) && !c.value().is_empty())
            .map(|c| c.value().to_string())
    }

    /// Who holds the session in `headers`, if it is open.
    pub async fn principal_of(
        state: &crate::web::state::AppState,
        headers: &HeaderMap,
    ) -> Result<Option<Principal>, crate::storage::StoreError> {
        match session_value(headers) {
            Some(value) => crate::auth::session::principal(&state.engine, &state.auth, &value).await,
            None => Ok(None),
        }
    }

    /// Who this request comes from, if signed in.
    pub async fn principal() -> Result<Option<Principal>, ServerFnError> {
        let Some(parts) = use_context::<Parts>() else { return Ok(None) };
        let state = expect_context::<crate::web::state::AppState>();
        principal_of(&state, &parts.headers).await.map_err(crate::web::state::internal_error)
    }

    /// What the pages need to know about the viewer.
    pub async fn me() -> Result<Me, ServerFnError> {
        let public_read = expect_context::<crate::web::state::AppState>().public_read;
        Ok(Me::of(principal().await?.as_ref(), public_read))
    }

    /// Reading the pages' data: a signed-in person, unless AOL_PUBLIC_READ
    /// lets anyone look (401 otherwise).
    pub async fn require_viewer() -> Result<Me, ServerFnError> {
        let me = me().await?;
        if !me.may(Right::View) {
            set_status(StatusCode::UNAUTHORIZED);
            return Err(ServerFnError::new(super::SIGN_IN_TO_SEE));
        }
        Ok(me)
    }

    /// Reading what only people may (the audit trail): signed in (else 401),
    /// with a role that holds `right` (else 403); AOL_PUBLIC_READ is no key here.
    pub async fn require_to_read(right: Right) -> Result<Actor, ServerFnError> {
        signed_in_with(right, super::SIGN_IN_TO_SEE).await
    }

    /// The signed-in person as an actor holding `right`: 401 saying
    /// `unsigned` when nobody is signed in, 403 when their role lacks it.
    async fn signed_in_with(right: Right, unsigned: &str) -> Result<Actor, ServerFnError> {
        let Some(who) = principal().await? else {
            set_status(StatusCode::UNAUTHORIZED);
            return Err(ServerFnError::new(unsigned));
        };
        let actor = Actor::new(who);
        actor.require(right).map_err(forbidden)?;
        Ok(actor)
    }

    /// Refuses requests a browser made on behalf of another site: the cookie
    /// is SameSite=Strict already; this also holds for older browsers.
    pub fn require_same_origin() -> Result<(), ServerFnError> {
        let Some(parts) = use_context::<Parts>() else { return Ok(()) };
        let headers = &parts.headers;
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let cross_site = match fetch_site {
            Some(site) => site != "same-origin" && site != "none",
            None => match (headers.get(ORIGIN).and_then(|v| v.to_str().ok()), headers.get(HOST)) {
                (Some(origin), Some(host)) => {
                    let host = host.to_str().unwrap_or_default();
                    origin != format!("http://{host}") && origin != format!("https://{host}")
                }
                _ => false,
            },
        };
        if cross_site {
            set_status(StatusCode::FORBIDDEN);
            return Err(ServerFnError::new("refused: the request came from another site"));
        }
        Ok(())
    }

    /// Every change starts here: same origin, signed in (else 401), and the
    /// role holds `right` (else 403). The engine checks the right again.
    pub async fn require(right: Right) -> Result<Actor, ServerFnError> {
        require_same_origin()?;
        signed_in_with(right, "sign in to change anything").await
    }

    /// For the pages' own routes outside server functions (live events,
    /// media files): a signed-in person, unless AOL_PUBLIC_READ (401 otherwise).
    pub async fn viewers_only(
        axum::extract::State(state): axum::extract::State<crate::web::state::AppState>,
        request: axum::extract::Request,
        next: axum::middleware::Next,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        let may_view = match principal_of(&state, request.headers()).await {
            Ok(who) => Me::of(who.as_ref(), state.public_read).may(Right::View),
            Err(e) => return crate::api::error::ApiError::internal(e).into_response(),
        };
        if may_view {
            return next.run(request).await;
        }
        crate::api::error::ApiError::new(StatusCode::UNAUTHORIZED, super::SIGN_IN_TO_SEE).into_response()
    }

    /// A refusal from the engine as the browser gets it.
    pub fn forbidden(e: crate::engine::Forbidden) -> ServerFnError {
        set_status(StatusCode::FORBIDDEN);
        ServerFnError::new(e.to_string())
    }
}
