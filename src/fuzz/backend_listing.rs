//! A backend's `ListBucketResult` (the S3-compatible backend client, `backend::remote`), on its
//! own and as the S3 read path serves it.
//!
//! The input is a byte choosing one of eight client listings, then the backend's answer (an
//! XML document, any bytes). Then:
//! - `remote::parse_list` does not panic; a page it returns that is truncated has a cursor;
//! - what it parsed, written again by this worker's own ListObjectsV2 writer
//!   (`s3::list::xml::list_v2_xml`, with `encoding-type=url`), parses back to the same page:
//!   the same keys, sizes, entity tags, times, common prefixes and cursor;
//! - answered by the S3 read path for a catalogue whose products `a` and `b` live under
//!   `acct/a/` and `acct/b/` of one bucket, the client's listing is 200 when the backend's
//!   answer parses and 503 when it does not, and never shows a key outside the product's
//!   prefix: every key and common prefix it lists is `{product}/{rest}` for a key or prefix
//!   `acct/{product}/{rest}` of the backend's answer. A single product's ListObjectsV2 shows
//!   exactly the answer's entries under the prefix, in order, and logs how many it dropped.

use std::cell::RefCell;

use futures_util::FutureExt;
use http::{Request, Response, StatusCode};

use crate::access::catalogue::Catalogue;
use crate::backend::remote::parse_list;
use crate::backend::store::ListPage;
use crate::oidc::mint::JwtSigner;
use crate::oidc::signer::RsaSigner;
use crate::platform::{FetchError, HttpClient, Io};
use crate::s3::list::xml::{list_v2_xml, ListEntry};
use crate::s3::route::{ListParams, ListV2Params};
use crate::s3::service::S3Service;

const CATALOGUE: &str = r#"{"accounts": {"demo": {"products": {
    "a": {"visibility": "public", "backend": {"type": "s3", "endpoint": "http://127.0.0.1:9000", "bucket": "data", "prefix": "acct/a/"}},
    "b": {"visibility": "public", "backend": {"type": "s3", "endpoint": "http://127.0.0.1:9000", "bucket": "data", "prefix": "acct/b/"}}}}}}"#;

/// The client listings: (request target, the one product it lists if it lists one, whether it
/// is a ListObjectsV2 that shows the backend's page whole).
const LISTINGS: [(&str, Option<&str>, bool); 8] = [
    ("/demo?list-type=2&prefix=a/&encoding-type=url", Some("a"), true),
    (
        "/demo?list-type=2&prefix=a/&delimiter=/&encoding-type=url",
        Some("a"),
        true,
    ),
    ("/demo?list-type=2&prefix=a/sub/&delimiter=/", Some("a"), true),
    ("/demo?list-type=2&prefix=b/&encoding-type=url", Some("b"), true),
    ("/demo?prefix=a/&encoding-type=url", Some("a"), false),
    (
        "/demo?prefix=a/&delimiter=/&marker=a/sub/&encoding-type=url",
        Some("a"),
        false,
    ),
    (
        "/demo?list-type=2&prefix=a/&start-after=a/m&max-keys=2&encoding-type=url",
        Some("a"),
        false,
    ),
    ("/demo?list-type=2&encoding-type=url", None, false),
];

/// Answers every request with the input.
struct Backend<'b>(&'b [u8]);

impl HttpClient for Backend<'_> {
    async fn fetch(&self, _req: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, FetchError> {
        Ok(Response::new(self.0.to_vec()))
    }
}

#[derive(Default)]
struct Lines(RefCell<Vec<serde_json::Value>>);

impl crate::platform::Log for Lines {
    fn log(&self, line: &serde_json::Value) {
        self.0.borrow_mut().push(line.clone());
    }
}

pub fn backend_listing(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let parsed = parse_list(body);
    if let Ok(page) = &parsed {
        assert!(!page.truncated || page.cursor.as_ref().is_some_and(|c| !c.is_empty()));
        rewritten_alike(page);
    }
    let Some(&(target, product, whole)) = LISTINGS.get(usize::from(pick) % LISTINGS.len()) else {
        return;
    };
    let (status, listed, logged) = serve(target, body);
    let Ok(page) = parsed else {
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "an unreadable answer gave {status}"
        );
        return;
    };
    assert_eq!(status, StatusCode::OK, "{target} of a readable answer gave {status}");
    let Some((keys, prefixes)) = listed else {
        // Without encoding-type=url, a key XML 1.0 cannot carry makes an unreadable document,
        // as on S3; anything else must read.
        let unwritable = |s: &str| {
            s.chars()
                .any(|c| (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        };
        assert!(
            page.objects.iter().any(|o| unwritable(&o.key)) || page.common_prefixes.iter().any(|p| unwritable(p)),
            "{target}: the listing is not XML"
        );
        return;
    };
    let backend_keys: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
    let backend_prefixes: Vec<&str> = page.common_prefixes.iter().map(String::as_str).collect();
    for (shown, answered) in [(&keys, &backend_keys), (&prefixes, &backend_prefixes)] {
        for name in shown {
            let Some((p, rest)) = name.split_once('/') else {
                panic!("{target} shows {name:?}, which names no product");
            };
            assert!(product.is_none_or(|only| only == p), "{target} shows {name:?}");
            let backend = format!("acct/{p}/{rest}");
            assert!(
                answered.contains(&backend.as_str()),
                "{target} shows {name:?}, but the backend answered no {backend:?}"
            );
        }
    }
    if let (Some(p), true) = (product, whole) {
        let own = format!("acct/{p}/");
        let under = |names: &[&str]| -> Vec<String> {
            names
                .iter()
                .filter_map(|k| k.strip_prefix(own.as_str()))
                .map(|rest| format!("{p}/{rest}"))
                .collect()
        };
        assert_eq!(keys, under(&backend_keys), "{target}: keys");
        assert_eq!(prefixes, under(&backend_prefixes), "{target}: common prefixes");
        let outside = backend_keys.len() + backend_prefixes.len() - keys.len() - prefixes.len();
        assert_eq!(logged, outside, "{target}: dropped entries logged");
    }
}

/// The page written as this worker writes a ListObjectsV2 page, then parsed again.
fn rewritten_alike(page: &ListPage) {
    let entries: Vec<ListEntry> = page
        .objects
        .iter()
        .map(|o| ListEntry {
            key: o.key.clone(),
            size: o.size,
            etag: o.etag.clone(),
            last_modified_secs: o.last_modified_secs,
        })
        .collect();
    let params = ListV2Params {
        common: ListParams {
            prefix: String::new(),
            delimiter: None,
            max_keys: 1000,
            encoding_url: true,
        },
        continuation_token: None,
        start_after: None,
    };
    let cursor = page.cursor.as_deref().filter(|_| page.truncated);
    let xml = list_v2_xml("data", &params, &entries, &page.common_prefixes, cursor);
    let again = parse_list(xml.as_bytes());
    let expected = ListPage {
        cursor: cursor.map(str::to_owned),
        ..page.clone()
    };
    assert_eq!(again.as_ref(), Ok(&expected), "rewritten as {xml}");
}

/// The keys and the common prefixes a listing document shows.
type Shown = (Vec<String>, Vec<String>);

/// The client's listing through the S3 read path: its status, what it shows (`None` when its
/// body is not XML), and how many entries it logged as dropped.
fn serve(target: &str, body: &[u8]) -> (StatusCode, Option<Shown>, usize) {
    let Ok(catalogue) = Catalogue::parse(CATALOGUE, &[]) else {
        panic!("the fixed catalogue does not parse");
    };
    let service = S3Service::from_catalogue(&catalogue);
    let (clock, random, log) = (super::At(1_800_000_000), super::Zeros, Lines::default());
    let backend = Backend(body);
    let io = Io::new(&clock, &random, &backend, &log);
    let Ok(req) = Request::get(target).body(Vec::new()) else {
        panic!("{target} is not a request");
    };
    let res = service
        .handle(&req, &io, None::<&JwtSigner<RsaSigner>>)
        .now_or_never()
        .unwrap_or_else(|| panic!("the listing waited on I/O that answers at once"));
    let logged = log
        .0
        .borrow()
        .iter()
        .filter(|l| l["msg"] == "listing entries outside the product's prefix dropped")
        .map(|l| l["count"].as_u64().map_or(0, |c| c as usize))
        .sum();
    (res.status(), shown(res.body().as_bytes()), logged)
}

/// The keys and common prefixes of a listing document, decoded if it says it is encoded.
fn shown(body: &[u8]) -> Option<Shown> {
    let doc = roxmltree::Document::parse(std::str::from_utf8(body).ok()?).ok()?;
    let root = doc.root_element();
    let child_text = |node: roxmltree::Node<'_, '_>, name: &str| -> Option<String> {
        node.children()
            .find(|c| c.tag_name().name() == name)
            .map(|c| c.text().unwrap_or("").to_owned())
    };
    let encoded = child_text(root, "EncodingType").as_deref() == Some("url");
    let decode = |s: String| -> String {
        if encoded {
            let bytes = crate::encoding::percent_decode(&s).unwrap_or_else(|| panic!("{s:?} is not url-encoded"));
            String::from_utf8(bytes).unwrap_or_else(|_| panic!("{s:?} is not UTF-8"))
        } else {
            s
        }
    };
    let mut keys = Vec::new();
    let mut prefixes = Vec::new();
    for node in root.children() {
        match node.tag_name().name() {
            "Contents" => keys.extend(child_text(node, "Key").map(decode)),
            "CommonPrefixes" => prefixes.extend(child_text(node, "Prefix").map(decode)),
            _ => {}
        }
    }
    Some((keys, prefixes))
}
