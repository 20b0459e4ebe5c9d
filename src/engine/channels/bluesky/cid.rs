//! Content identifiers (CIDs), as the AT Protocol computes them: a blob's
//! from its bytes, a record's from its DAG-CBOR encoding. Knowing a post's
//! CID before it is sent lets a thread's replies name the posts before them
//! in requests made (and approved) before anything leaves.

use ipld_core::cid::multihash::Multihash;
use ipld_core::cid::Cid;
use ipld_core::ipld::Ipld;
use sha2::{Digest, Sha256};

/// Multicodec codes.
const RAW: u64 = 0x55;
const DAG_CBOR: u64 = 0x71;
const SHA2_256: u64 = 0x12;

fn cid(codec: u64, digest: &[u8]) -> Cid {
    Cid::new_v1(codec, Multihash::wrap(SHA2_256, digest).expect("a SHA-256 digest fits a multihash"))
}

/// A blob's CID (`bafkrei…`) from the SHA-256 of its bytes, in hex.
pub fn blob(sha256_hex: &str) -> Result<String, String> {
    let digest = hex::decode(sha256_hex).map_err(|_| format!("{sha256_hex:?} is not a SHA-256 in hex"))?;
    if digest.len() != 32 {
        return Err(format!("{sha256_hex:?} is not a SHA-256 in hex"));
    }
    Ok(cid(RAW, &digest).to_string())
}

/// A record's CID (`bafyrei…`): the SHA-256 of its DAG-CBOR encoding, with
/// `{"$link": "…"}` read as a link, as the AT Protocol's JSON form writes one.
pub fn record(record: &serde_json::Value) -> Result<String, String> {
    let bytes = serde_ipld_dagcbor::to_vec(&ipld(record)?).map_err(|e| format!("cannot encode the record: {e}"))?;
    Ok(cid(DAG_CBOR, &Sha256::digest(&bytes)).to_string())
}

fn ipld(value: &serde_json::Value) -> Result<Ipld, String> {
    use serde_json::Value;
    Ok(match value {
        Value::Null => Ipld::Null,
        Value::Bool(b) => Ipld::Bool(*b),
        Value::Number(n) => Ipld::Integer(n.as_i64().ok_or_else(|| format!("{n} is not an integer"))?.into()),
        Value::String(s) => Ipld::String(s.clone()),
        Value::Array(items) => Ipld::List(items.iter().map(ipld).collect::<Result<_, _>>()?),
        Value::Object(map) => match (map.len(), map.get("$link")) {
            (1, Some(Value::String(link))) => {
                Ipld::Link(Cid::try_from(link.as_str()).map_err(|e| format!("bad link {link:?}: {e}"))?)
            }
            _ => Ipld::Map(map.iter().map(|(k, v)| Ok((k.clone(), ipld(v)?))).collect::<Result<_, String>>()?),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_cid_is_raw_sha256_in_base32() {
        // The empty file's CIDv1 (raw, sha2-256), as any IPFS tool prints it.
        let empty = hex::encode(Sha256::digest(b""));
        assert_eq!(blob(&empty).unwrap(), "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
        assert!(blob("xyz").is_err());
    }

    #[test]
    fn a_record_cid_does_not_depend_on_key_order() {
        let a =
            serde_json::json!({"text": "hi", "$type": "app.bsky.feed.post", "createdAt": "2026-01-01T00:00:00.000Z"});
        let b =
            serde_json::json!({"createdAt": "2026-01-01T00:00:00.000Z", "$type": "app.bsky.feed.post", "text": "hi"});
        let (ca, cb) = (record(&a).unwrap(), record(&b).unwrap());
        assert_eq!(ca, cb);
        assert!(ca.starts_with("bafyrei"), "{ca}");
        let linked = serde_json::json!({"ref": {"$link": blob(&hex::encode(Sha256::digest(b""))).unwrap()}});
        assert!(record(&linked).is_ok());
    }
}
