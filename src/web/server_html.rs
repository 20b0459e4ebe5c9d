//! Parts of a page that only show data (tables, the chart, the log, the
//! artifact…) are drawn by the server and sent to the browser as HTML text.
//! The browser's code then carries neither a decoder for that data nor the
//! code that draws it: the hydrate wasm is mostly the page's controls
//! (docs/scaling.md). Leptos escapes every text and attribute value as it
//! renders, so no data can become markup.

use leptos::prelude::*;

/// HTML drawn by the server from one of its views.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Html(String);

impl Html {
    /// Draws `view` (one without reactive parts: it is rendered once, here).
    #[cfg(feature = "ssr")]
    pub fn render(view: impl IntoView) -> Html {
        Html(view.into_view().to_html())
    }

    /// A `<div class="drawn">` (laid out as if absent) holding this HTML.
    pub fn view(self) -> impl IntoView {
        view! { <div class="drawn" inner_html=self.0></div> }
    }
}

/// A `<div class="drawn">` (laid out as if absent) holding the HTML that
/// `html` gives: rendered in place by the server, then replaced in the
/// browser whenever it changes, and only then.
pub fn drawn(html: impl Fn() -> Option<Html> + Send + Sync + 'static) -> impl IntoView {
    view! { <div class="drawn" inner_html=move || html().map(|h| h.0).unwrap_or_default()></div> }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn data_is_escaped_not_markup() {
        let text = "<script>alert(1)</script> & \"quoted\"";
        let html = Html::render(view! { <p title=text>{text}</p> });
        assert!(!html.0.contains("<script>"), "{}", html.0);
        assert!(html.0.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp;"), "{}", html.0);
        assert!(
            html.0.contains("title=\"&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;\""),
            "{}",
            html.0
        );
    }
}
