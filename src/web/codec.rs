//! How the UI's server functions send their answers: JSON, as leptos's own
//! `Json`, but decoded in the browser from text (`serde_json::from_str`), the
//! same reader that hydration uses for the data embedded in the page. With
//! `Json`'s `from_slice` the wasm carried every answer type's decoder twice
//! (once per reader); this halves that code.

use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::de::{DeserializeOwned, Error as _};
use serde::Serialize;

/// Use as `#[server(…, output = JsonText)]`.
pub type JsonText = Post<JsonTextEncoding>;

pub struct JsonTextEncoding;

impl ContentType for JsonTextEncoding {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonTextEncoding {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonTextEncoding {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonTextEncoding {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        serde_json::from_str(std::str::from_utf8(&bytes).map_err(serde_json::Error::custom)?)
    }
}
