//! The operator's session in the browser: the token is entered once; an
//! HttpOnly, SameSite=Strict cookie then holds a value derived from it (see
//! `OperatorAuth::session_value`); every mutating server function calls
//! [`ssr::require_operator`] first.

use leptos::prelude::*;

/// The cookie holding the operator's session.
pub const COOKIE: &str = "aol_operator";

/// Checks the token and, when right, opens a session in a cookie.
#[server(prefix = "/ui", endpoint = "login", output = crate::web::codec::JsonText)]
pub async fn login(token: String) -> Result<(), ServerFnError> {
    ssr::require_same_origin()?;
    let auth = crate::web::state::auth();
    if let Err(wait) = auth.sign_ins().check() {
        ssr::set_status(http::StatusCode::TOO_MANY_REQUESTS);
        let seconds = wait.as_secs() + 1;
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
        }
        return Err(ServerFnError::new(format!(
            "too many wrong tokens in the last minute: try again in {seconds} s (the command line works meanwhile)"
        )));
    }
    if !auth.verify(token.trim()) {
        auth.sign_ins().failed();
        ssr::set_status(http::StatusCode::UNAUTHORIZED);
        return Err(ServerFnError::new("that is not the operator token"));
    }
    let cookie = cookie::Cookie::build((COOKIE, auth.session_value()))
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .path("/")
        .max_age(cookie::time::Duration::days(30));
    ssr::set_cookie(cookie.build());
    Ok(())
}

/// Forgets the token in this browser.
#[server(prefix = "/ui", endpoint = "logout", output = crate::web::codec::JsonText)]
pub async fn logout() -> Result<(), ServerFnError> {
    ssr::require_same_origin()?;
    ssr::set_cookie(cookie::Cookie::build((COOKIE, "")).path("/").max_age(cookie::time::Duration::ZERO).build());
    Ok(())
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use http::header::{COOKIE as COOKIE_HEADER, HOST, ORIGIN, SET_COOKIE};
    use http::request::Parts;
    use http::{HeaderValue, StatusCode};
    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;

    use super::COOKIE;

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

    /// True when the request carries the operator's session cookie.
    pub fn has_operator_cookie() -> bool {
        let Some(parts) = use_context::<Parts>() else { return false };
        let auth = crate::web::state::auth();
        parts
            .headers
            .get_all(COOKIE_HEADER)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(cookie::Cookie::split_parse)
            .filter_map(Result::ok)
            .any(|c| c.name() == COOKIE && auth.verify_session(c.value()))
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

    /// Every mutation starts here: same origin, and the operator token (else 401).
    pub fn require_operator() -> Result<(), ServerFnError> {
        require_same_origin()?;
        if !has_operator_cookie() {
            set_status(StatusCode::UNAUTHORIZED);
            return Err(ServerFnError::new("the operator token is required for this change"));
        }
        Ok(())
    }
}
