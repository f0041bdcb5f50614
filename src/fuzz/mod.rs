//! Fuzz targets: one function per parser an attacker reaches, each fed arbitrary bytes.
//!
//! `fuzz/fuzz_targets/*.rs` hand each function to libFuzzer (`make fuzz`, nightly); the
//! tests below replay every committed input (`fuzz/corpus/<target>/`, the seeds, and
//! `fuzz/regressions/<target>/`, inputs that once crashed) on stable Rust, so `make test`
//! keeps a fixed crash fixed. A target panics only when a property fails; "no panic" is the
//! least each one checks. Built only for tests and with the `fuzzing` feature.
//!
//! The small targets are below; those with an oracle of their own (an independent signer or
//! evaluator, a fake backend or identity provider) have a module each.

mod backend_listing;
mod catalogue;
mod conditionals;
mod jwt;
mod sigv4_canonical;
mod upstream_answer;

use http::{HeaderMap, HeaderValue, Method, Request};

use crate::encoding;
use crate::platform::{Clock, Random};
use crate::policy::{Action, Request as PolicyRequest, SessionPolicy};
use crate::s3::{object, route, sigv4};
use crate::session::seal::SessionKeys;

pub use backend_listing::backend_listing;
pub use catalogue::catalogue;
pub use conditionals::conditionals;
pub use jwt::jwt;
pub use sigv4_canonical::sigv4_canonical;
pub use upstream_answer::upstream_answer;

/// A target: arbitrary bytes in, a panic only when a property fails.
pub type Target = fn(&[u8]);

/// Every target, by the name of its file in `fuzz/fuzz_targets/` and its corpus folder.
pub const TARGETS: &[(&str, Target)] = &[
    ("jws", jws),
    ("sigv4_auth", sigv4_auth),
    ("percent", percent),
    ("s3_route", s3_route),
    ("sts_request", sts_request),
    ("session_policy", session_policy),
    ("range_and_dates", range_and_dates),
    ("sealed_token", sealed_token),
    ("sigv4_canonical", sigv4_canonical),
    ("jwt", jwt),
    ("backend_listing", backend_listing),
    ("catalogue", catalogue),
    ("upstream_answer", upstream_answer),
    ("conditionals", conditionals),
];

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// A clock stopped at a Unix time (seconds).
struct At(u64);

impl Clock for At {
    fn now_millis(&self) -> u64 {
        self.0 * 1000
    }
}

/// "Randomness" that is all zeros: the targets must not depend on it.
struct Zeros;

impl Random for Zeros {
    fn fill(&self, buf: &mut [u8]) {
        buf.fill(0);
    }
}

/// The compact JWS splitter and header parsing, up to (not including) the signature check.
/// A token that parses has exactly three parts, and its payload is the second one decoded.
pub fn jws(data: &[u8]) {
    let Some(token) = text(data) else { return };
    if let Ok(parsed) = crate::oidc::jws::UnverifiedJws::parse(token) {
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        use base64::Engine as _;
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]);
        assert_eq!(decoded.as_deref().ok(), Some(parsed.unverified_payload()));
    }
}

/// The `Authorization` header and presigned-query parsers, and the canonical query: the
/// first line is the query, the rest the header. Canonicalising a canonical query changes
/// nothing (what verifies keeps verifying when re-canonicalised).
pub fn sigv4_auth(data: &[u8]) {
    let Some(input) = text(data) else { return };
    let (query, header) = input.split_once('\n').unwrap_or((input, ""));
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(header) {
        if !header.is_empty() {
            headers.insert(http::header::AUTHORIZATION, value);
        }
    }
    let _ = sigv4::parse_auth(&Method::GET, "/", Some(query), &headers);
    for presigned in [false, true] {
        if let Ok(canonical) = sigv4::canonical_query(Some(query), presigned) {
            let again = sigv4::canonical_query(Some(&canonical), presigned);
            assert_eq!(
                again.as_deref(),
                Ok(canonical.as_str()),
                "canonical query is not a fixed point"
            );
        }
    }
    let _ = sigv4::canonical_uri(query);
}

/// The most bytes of an input the `percent` target reads.
const PERCENT_INPUT: usize = 256;

/// The strict percent-decoder and AWS's UriEncode: decode(encode(x)) = x, and whatever
/// decodes re-encodes to something that decodes the same.
///
/// Only the first [`PERCENT_INPUT`] bytes are read. Every byte string is a valid input here,
/// so libFuzzer grows inputs to its 4,096-byte limit, and both coders are linear: a 4 KiB run
/// takes about 22 µs natively but about 1 ms instrumented (libFuzzer's hook on every byte
/// comparison), which made this target the slowest. The coders work an escape (three bytes)
/// at a time, so the rest of a long input adds no behaviour.
pub fn percent(data: &[u8]) {
    let data = data.get(..PERCENT_INPUT).unwrap_or(data);
    assert_eq!(
        encoding::percent_decode(&encoding::uri_encode(data)).as_deref(),
        Some(data)
    );
    if let Some(s) = text(data) {
        if let Some(bytes) = encoding::percent_decode(s) {
            assert_eq!(encoding::percent_decode(&encoding::uri_encode(&bytes)), Some(bytes));
        }
    }
}

/// S3 path routing: the first byte picks the method, the rest is `path?query`.
pub fn s3_route(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Some(target) = text(rest) else { return };
    let method = [
        Method::GET,
        Method::HEAD,
        Method::PUT,
        Method::DELETE,
        Method::POST,
        Method::OPTIONS,
    ][usize::from(first) % 6]
        .clone();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let _ = route::parse(&method, path, query);
}

/// The STS form (POST body) and query (GET) parser.
pub fn sts_request(data: &[u8]) {
    let post = Request::post("/.sts")
        .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(data.to_vec());
    if let Ok(req) = post {
        let _ = crate::sts::request::parse(&req, 43_200);
    }
    if let Some(query) = text(data) {
        if let Ok(req) = Request::get(format!("/.sts?{query}")).body(Vec::new()) {
            let _ = crate::sts::request::parse(&req, 43_200);
        }
    }
}

/// The session-policy parser and evaluator: a policy that parses decides every request
/// without panicking (no stronger property is checked yet).
pub fn session_policy(data: &[u8]) {
    let Some(doc) = text(data) else { return };
    let Ok(policy) = SessionPolicy::parse(doc) else { return };
    for action in [Action::GetObject, Action::ListBucket, Action::GetBucketLocation] {
        for resource in ["demo", "demo/public-data/README.txt", "demo/restricted-data/a/b", ""] {
            let prefix = matches!(action, Action::ListBucket).then_some("public-data/");
            let _ = policy.decide(&PolicyRequest {
                action,
                resource,
                prefix,
            });
        }
    }
}

/// `Range` and HTTP-date parsing: a satisfiable range lies inside the object, and a date
/// that parses prints back (as IMF-fixdate) to one that parses to the same instant.
pub fn range_and_dates(data: &[u8]) {
    if data.len() < 8 {
        return;
    }
    let (size, rest) = data.split_at(8);
    let size = u64::from_le_bytes(size.try_into().unwrap_or_default()) % (1 << 50);
    let Some(header) = text(rest) else { return };
    if let Ok(Some(range)) = object::parse_range(header, size) {
        assert!(range.start <= range.end && range.end < size, "{range:?} outside {size}");
        assert_eq!(range.len(), range.end - range.start + 1);
    }
    if let Some(secs) = crate::time::parse_http_date(header) {
        if let Ok(unsigned) = u64::try_from(secs) {
            if unsigned < 253_402_300_800 {
                // Before year 10000: IMF-fixdate has four year digits.
                assert_eq!(
                    crate::time::parse_http_date(&crate::time::http_date(unsigned)),
                    Some(secs)
                );
            }
        }
    }
}

/// Sealed session-token opening: arbitrary bytes never open (AES-256-GCM under a key the
/// input cannot know).
pub fn sealed_token(data: &[u8]) {
    let Some(token) = text(data) else { return };
    let keys = SessionKeys::new("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", None);
    if let Ok(keys) = keys {
        assert!(keys.open(token, 1_800_000_000).is_err(), "a token nobody sealed opened");
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::TARGETS;

    fn fuzz_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
    }

    fn inputs(dir: &Path) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        files
    }

    #[test]
    fn every_committed_corpus_and_regression_input_replays_cleanly() {
        let mut replayed = 0;
        for (name, target) in TARGETS {
            for folder in ["corpus", "regressions"] {
                for file in inputs(&fuzz_dir().join(folder).join(name)) {
                    let data = std::fs::read(&file).unwrap();
                    let outcome = std::panic::catch_unwind(|| target(&data));
                    assert!(outcome.is_ok(), "{name}: {} fails its target", file.display());
                    replayed += 1;
                }
            }
        }
        assert!(replayed >= TARGETS.len(), "only {replayed} inputs replayed");
    }

    #[test]
    fn every_target_has_its_libfuzzer_binary_and_a_seed_corpus() {
        for (name, _) in TARGETS {
            let binary = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
            let source = std::fs::read_to_string(&binary).unwrap_or_else(|_| panic!("{} is missing", binary.display()));
            assert!(
                source.contains(&format!("fuzz::{name}(")),
                "{} calls another target",
                binary.display()
            );
            assert!(
                !inputs(&fuzz_dir().join("corpus").join(name)).is_empty(),
                "{name} has no seed corpus"
            );
        }
        let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
        assert_eq!(
            manifest.matches("[[bin]]").count(),
            TARGETS.len(),
            "fuzz/Cargo.toml lists another set"
        );
    }
}
