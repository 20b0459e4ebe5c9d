//! Which page a path shows: one list, read by the server (the paths it
//! renders) and by the page itself (what to draw, on the server and again in
//! the browser when it hydrates). The pages link to each other with plain
//! links, each one rendered by the server: without a client-side router the
//! browser's wasm is about 50 KB (gzip) smaller (docs/scaling.md).

/// The paths the server renders as pages, in axum's syntax.
pub const PAGE_PATHS: [&str; 3] = ["/", "/actions/{id}", "/audit"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Autonomy,
    /// `None`: the path's id is not a number.
    Action(Option<i64>),
    Audit,
    NotFound,
}

impl Page {
    pub fn from_path(path: &str) -> Page {
        match path {
            "/" => return Page::Autonomy,
            "/audit" => return Page::Audit,
            _ => {}
        }
        match path.strip_prefix("/actions/") {
            Some(id) if !id.is_empty() && !id.contains('/') => Page::Action(id.parse().ok()),
            _ => Page::NotFound,
        }
    }

    /// The page of this request (server) or of this window (browser).
    pub fn current() -> Page {
        #[cfg(feature = "ssr")]
        let path = leptos::prelude::use_context::<http::request::Parts>()
            .map(|parts| parts.uri.path().to_string())
            .unwrap_or_default();
        #[cfg(not(feature = "ssr"))]
        let path = leptos::prelude::window().location().pathname().unwrap_or_default();
        Page::from_path(&path)
    }
}

#[cfg(test)]
mod tests {
    use super::Page;

    #[test]
    fn paths_name_their_pages() {
        assert_eq!(Page::from_path("/"), Page::Autonomy);
        assert_eq!(Page::from_path("/actions/42"), Page::Action(Some(42)));
        assert_eq!(Page::from_path("/audit"), Page::Audit);
        assert_eq!(Page::from_path("/actions/x"), Page::Action(None));
        assert_eq!(Page::from_path("/actions/"), Page::NotFound);
        assert_eq!(Page::from_path("/actions/1/2"), Page::NotFound);
        assert_eq!(Page::from_path("/nowhere"), Page::NotFound);
        assert_eq!(Page::from_path(""), Page::NotFound);
    }
}
