//! The SigV4 canonical-request builder, checked against an independent signer.
//!
//! The input is three control bytes and a request in the form of the AWS SigV4 test suite's
//! `request.txt` (`GET /path?query HTTP/1.1`, header lines, a blank line, the body). The signer
//! below is written from the AWS documentation ("Create a canonical request", "Create a string
//! to sign", "Calculate the signature"), with S3's rules (no path normalisation, each segment
//! decoded then `UriEncode`d once, `+` a literal plus, `x-amz-content-sha256` as the payload
//! hash), and shares no code with `s3::sigv4`. It signs the request, header form or presigned
//! (control byte 0, bit 0); then:
//! - the worker's verifier (`sigv4::parse_auth` + `sigv4::verify`) accepts it, and its
//!   canonical request is the signer's, byte for byte (or both refuse the same way: a bad
//!   percent escape, a payload hash S3 refuses);
//! - the request re-spelled in canonical form (canonical path and query, one trimmed value per
//!   header) verifies too, with the same canonical request;
//! - the request changed once (control bytes 1 and 2: method, path, query, a header's value,
//!   an extra header, a removed header, a re-spelled escape) verifies if and only if the
//!   signer's canonical request for it is unchanged: a signature never covers a request
//!   canonicalised differently, and a mere re-spelling never breaks one.

use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use sha2::{Digest, Sha256};

use crate::s3::sigv4::{self, SigV4Error};

// The signing context of the AWS test suite (`context.json`), with the service `s3`.
/// The credentials' access key id.
const ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
/// The credentials' secret access key.
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// When the request is signed (`x-amz-date`, `X-Amz-Date`).
const AMZ_DATE: &str = "20150830T123600Z";
/// `AMZ_DATE` in seconds: the verifier's clock.
const NOW: u64 = 1_440_938_160;
/// The credential scope's region.
const REGION: &str = "us-east-1";
/// The session token the signer sends (the verifier does not judge it).
const TOKEN: &str = "fuzz-session-token";
/// A presigned URL's lifetime, seconds.
const EXPIRES: &str = "3600";
/// The `host` the signer adds when the request has none.
const HOST: &str = "example.amazonaws.com";
/// The payload hash of a presigned URL that signs no `x-amz-content-sha256`.
const UNSIGNED: &str = "UNSIGNED-PAYLOAD";
/// The query parameters of presigned authentication (case-sensitive, as S3 reads them).
const AUTH_PARAMS: [&str; 7] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Security-Token",
    "X-Amz-Signature",
];
/// What a mutation inserts, or puts in place of a character.
const ALPHABET: &[u8] = b"%/&=+ \taA0~-._,;:?#2F";

/// A request as it travels: lower-case header names, values as sent, the query without any
/// authentication parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wire {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
}

/// Where the signature travels: the `Authorization` header, or presigned query parameters
/// (already encoded, `X-Amz-Signature` last).
enum Auth {
    Header(String),
    Query(String),
}

pub fn sigv4_canonical(data: &[u8]) {
    let Some((&[form, change, at], rest)) = data.split_first_chunk::<3>() else {
        return;
    };
    let Some(text) = super::text(rest) else { return };
    let presigned = form & 1 == 1;
    let Some((request, body)) = read_request(text) else {
        return;
    };
    let wire = prepare(request, body, presigned);
    let signed_headers = signed_header_names(&wire);
    let payload = payload_hash(&wire, presigned);
    let canonical = canonical_request(
        &wire,
        &signed_headers,
        presigned,
        payload.as_deref().unwrap_or(UNSIGNED),
    );
    let signature = canonical.as_deref().map_or_else(|| "0".repeat(64), sign);
    let auth = authenticate(&signed_headers, presigned, &signature);
    let Some(outcome) = verify(&wire, &auth) else {
        panic!("the signed request cannot be made: {wire:?}");
    };

    let Some(canonical) = canonical else {
        assert!(
            matches!(
                outcome,
                Err(SigV4Error::InvalidPercentEncoding { .. } | SigV4Error::InvalidContentSha256)
            ),
            "a request whose path or query does not decode gave {outcome:?}"
        );
        return;
    };
    if payload.is_none() {
        assert_eq!(outcome.map(|_| ()), Err(SigV4Error::InvalidContentSha256));
        return;
    }
    assert_eq!(
        outcome.as_deref(),
        Ok(canonical.as_str()),
        "the verifier's canonical request is not the signer's"
    );

    // Re-spelled in canonical form, the request still verifies, to the same canonical request.
    let respelled = canonical_form(&wire);
    if let Some(again) = verify(&respelled, &auth) {
        assert_eq!(
            again.as_deref(),
            Ok(canonical.as_str()),
            "the canonical spelling {respelled:?} does not verify alike"
        );
    }

    // Changed once: it verifies exactly when the signer's canonical request is unchanged.
    let Some(changed) = mutate(&wire, change, at, form >> 1) else {
        return;
    };
    let Some(outcome) = verify(&changed, &auth) else { return };
    let same = payload_hash(&changed, presigned)
        .and_then(|p| canonical_request(&changed, &signed_headers, presigned, &p))
        .is_some_and(|c| c == canonical);
    // A changed x-amz-date header is refused for itself, whatever its canonical form.
    let same = same && (presigned || values(&changed, "x-amz-date") == values(&wire, "x-amz-date"));
    match outcome {
        Ok(c) => {
            assert!(same, "{changed:?} verifies under the signature of {wire:?}");
            assert_eq!(c, canonical);
        }
        Err(e) => assert!(
            !same,
            "{changed:?} canonicalises as {wire:?} does but is refused: {e:?}"
        ),
    }
}

/// `METHOD target HTTP/1.1`, header lines (`Name:value`; a line beginning with a space or tab
/// continues the previous value, RFC 9112 §5.2 obs-fold), a blank line, the body.
fn read_request(text: &str) -> Option<(Wire, &str)> {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.split('\n');
    let (method, rest) = lines.next()?.split_once(' ')?;
    Method::from_bytes(method.as_bytes()).ok()?;
    let target = match rest.rsplit_once(' ') {
        Some((target, version)) if version.starts_with("HTTP/") => target,
        _ => rest,
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if let Some(more) = line.strip_prefix([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(more);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
                headers.push((name.as_str().to_owned(), value.to_owned()));
            }
        }
    }
    let wire = Wire {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
    };
    Some((wire, body))
}

/// What the signer adds and takes away before signing: its own authentication (no
/// `Authorization`, token or date from the input, no authentication parameter in the query,
/// no header value `http` refuses),
/// a `host` when there is none, and for the header form `x-amz-date`, the session token and,
/// unless sent, the body's hash as `x-amz-content-sha256`.
fn prepare(mut wire: Wire, body: &str, presigned: bool) -> Wire {
    wire.headers.retain(|(name, value)| {
        HeaderValue::from_bytes(value.as_bytes()).is_ok()
            && !matches!(name.as_str(), "authorization" | "x-amz-security-token")
            && (presigned || name != "x-amz-date")
    });
    let user: Vec<&str> = wire
        .query
        .split('&')
        .filter(|piece| {
            let name = piece.split_once('=').map_or(*piece, |(n, _)| n);
            !decode(name).is_some_and(|n| AUTH_PARAMS.iter().any(|a| a.as_bytes() == n))
        })
        .collect();
    wire.query = user.join("&");
    if !wire.headers.iter().any(|(name, _)| name == "host") {
        wire.headers.push(("host".into(), HOST.into()));
    }
    if !presigned {
        wire.headers.push(("x-amz-date".into(), AMZ_DATE.into()));
        wire.headers.push(("x-amz-security-token".into(), TOKEN.into()));
        if values(&wire, "x-amz-content-sha256").is_empty() {
            let hash = hex::encode(Sha256::digest(body.as_bytes()));
            wire.headers.push(("x-amz-content-sha256".into(), hash));
        }
    }
    wire
}

fn values<'w>(wire: &'w Wire, name: &str) -> Vec<&'w str> {
    wire.headers
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The signer signs every header it sends: their names, sorted, once each.
fn signed_header_names(wire: &Wire) -> Vec<String> {
    let mut names: Vec<String> = wire.headers.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    names.dedup();
    names
}

/// S3's payload hash: the one `x-amz-content-sha256` value (64 hex digits,
/// `UNSIGNED-PAYLOAD` or `STREAMING-…`), or for a presigned URL without that header
/// `UNSIGNED-PAYLOAD`. `None`: S3 refuses the header.
fn payload_hash(wire: &Wire, presigned: bool) -> Option<String> {
    match values(wire, "x-amz-content-sha256").as_slice() {
        [] if presigned => Some(UNSIGNED.to_owned()),
        [value] => {
            let streaming = value
                .strip_prefix("STREAMING-")
                .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| matches!(b, b'A'..=b'Z' | b'0'..=b'9' | b'-')));
            let sha256 = value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit());
            (*value == UNSIGNED || streaming || sha256).then(|| (*value).to_owned())
        }
        _ => None,
    }
}

/// AWS `UriEncode`: `A-Z a-z 0-9 - _ . ~` as they are, every other byte `%XX` in upper case.
fn encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `%XX` escapes decoded, any other byte as it is; `None` for a `%` without two hex digits.
fn decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

/// Spaces and tabs around a value dropped, runs of them inside made one space.
fn trim_all(value: &str) -> String {
    value
        .split([' ', '\t'])
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn credential() -> String {
    format!("{ACCESS_KEY_ID}/{}/{REGION}/s3/aws4_request", &AMZ_DATE[..8])
}

/// The presigned URL's authentication parameters but the signature, decoded.
fn presigned_params(signed_headers: &[String]) -> Vec<(&'static str, String)> {
    vec![
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256".to_owned()),
        ("X-Amz-Credential", credential()),
        ("X-Amz-Date", AMZ_DATE.to_owned()),
        ("X-Amz-Expires", EXPIRES.to_owned()),
        ("X-Amz-SignedHeaders", signed_headers.join(";")),
        ("X-Amz-Security-Token", TOKEN.to_owned()),
    ]
}

/// The canonical path, or `None` when a segment does not decode.
fn canonical_path(path: &str) -> Option<String> {
    if path.is_empty() {
        return Some("/".to_owned());
    }
    let segments: Option<Vec<String>> = path.split('/').map(|s| decode(s).map(|b| encode(&b))).collect();
    Some(segments?.join("/"))
}

/// The query's parameters, each name and value decoded and encoded again.
fn canonical_params(query: &str) -> Option<Vec<(String, String)>> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|piece| {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            Some((encode(&decode(name)?), encode(&decode(value)?)))
        })
        .collect()
}

/// The canonical request (SigV4 task 1), or `None` when the path or query does not decode or
/// a signed header is missing.
fn canonical_request(wire: &Wire, signed_headers: &[String], presigned: bool, payload: &str) -> Option<String> {
    let path = canonical_path(&wire.path)?;
    let mut params = canonical_params(&wire.query)?;
    if presigned {
        for (name, value) in presigned_params(signed_headers) {
            params.push((encode(name.as_bytes()), encode(value.as_bytes())));
        }
    }
    params.sort();
    let query: Vec<String> = params.iter().map(|(n, v)| format!("{n}={v}")).collect();
    let mut lines = vec![wire.method.clone(), path, query.join("&")];
    for name in signed_headers {
        let found: Vec<String> = values(wire, name).into_iter().map(trim_all).collect();
        if found.is_empty() {
            return None;
        }
        lines.push(format!("{name}:{}", found.join(",")));
    }
    lines.push(String::new());
    lines.push(signed_headers.join(";"));
    lines.push(payload.to_owned());
    Some(lines.join("\n"))
}

fn hmac_sha256(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Tasks 2 to 4: the string to sign, the signing key, the signature (hex).
fn sign(canonical: &str) -> String {
    let date = &AMZ_DATE[..8];
    let scope = format!("{date}/{REGION}/s3/aws4_request");
    let digest = hex::encode(Sha256::digest(canonical.as_bytes()));
    let string_to_sign = ["AWS4-HMAC-SHA256", AMZ_DATE, &scope, &digest].join("\n");
    let key = [date, REGION, "s3", "aws4_request"]
        .iter()
        .fold(format!("AWS4{SECRET}").into_bytes(), |key, part| {
            hmac_sha256(&key, part)
        });
    hex::encode(hmac_sha256(&key, &string_to_sign))
}

fn authenticate(signed_headers: &[String], presigned: bool, signature: &str) -> Auth {
    let names = signed_headers.join(";");
    if !presigned {
        return Auth::Header(format!(
            "AWS4-HMAC-SHA256 Credential={}, SignedHeaders={names}, Signature={signature}",
            credential()
        ));
    }
    let mut params: Vec<String> = presigned_params(signed_headers)
        .into_iter()
        .map(|(name, value)| format!("{name}={}", encode(value.as_bytes())))
        .collect();
    params.push(format!("X-Amz-Signature={signature}"));
    Auth::Query(params.join("&"))
}

/// Hands the request to the worker's parser and verifier: the canonical request it verified,
/// or why it refused. `None` when `http` cannot carry the request (a header value it refuses).
fn verify(wire: &Wire, auth: &Auth) -> Option<Result<String, SigV4Error>> {
    let method = Method::from_bytes(wire.method.as_bytes()).ok()?;
    let mut headers = HeaderMap::new();
    for (name, value) in &wire.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
        headers.append(name, HeaderValue::from_bytes(value.as_bytes()).ok()?);
    }
    let mut query = wire.query.clone();
    match auth {
        Auth::Header(value) => {
            headers.insert(http::header::AUTHORIZATION, HeaderValue::from_str(value).ok()?);
        }
        Auth::Query(params) => {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(params);
        }
    }
    let query = (!query.is_empty()).then_some(query.as_str());
    let checked = (|| {
        let Some(parsed) = sigv4::parse_auth(&method, &wire.path, query, &headers)? else {
            panic!("a signed request reads as anonymous: {wire:?}");
        };
        sigv4::verify(&parsed, &method, &wire.path, query, &headers, SECRET, NOW)?;
        let payload = match (parsed.is_presigned(), headers.get("x-amz-content-sha256")) {
            (true, _) if !parsed.signed_headers().iter().any(|h| h == "x-amz-content-sha256") => UNSIGNED,
            (_, value) => value.and_then(|v| v.to_str().ok()).unwrap_or_default(),
        };
        sigv4::canonical_request(&parsed, &method, &wire.path, query, &headers, payload)
    })();
    Some(checked)
}

/// The same request spelled canonically: the canonical path and query, and each header once,
/// its values trimmed and joined with `,`.
fn canonical_form(wire: &Wire) -> Wire {
    let query: Vec<String> = canonical_params(&wire.query)
        .unwrap_or_default()
        .into_iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect();
    let headers = signed_header_names(wire)
        .into_iter()
        .map(|name| {
            let joined: Vec<String> = values(wire, &name).into_iter().map(trim_all).collect();
            (name, joined.join(","))
        })
        .collect();
    Wire {
        method: wire.method.clone(),
        path: canonical_path(&wire.path).unwrap_or_default(),
        query: query.join("&"),
        headers,
    }
}

/// One change to the request: `change` picks what (method, path, query, a header's value, an
/// extra header, a removed header) and how (insert, delete or replace a character, or
/// re-spell an escape), `at` where, `pick` which character.
fn mutate(wire: &Wire, change: u8, at: u8, pick: u8) -> Option<Wire> {
    let at = usize::from(at);
    let ch = char::from(*ALPHABET.get(usize::from(pick) % ALPHABET.len())?);
    let how = change / 6 % 4;
    let mut out = wire.clone();
    match change % 6 {
        0 => {
            out.method = if wire.method == "GET" {
                "HEAD".into()
            } else {
                "GET".into()
            }
        }
        1 => out.path = edit(&wire.path, how, at, ch, pick),
        2 => out.query = edit(&wire.query, how, at, ch, pick),
        3 => {
            let i = at % wire.headers.len().max(1);
            let (_, value) = out.headers.get_mut(i)?;
            *value = edit(value, how, at / 7, ch, pick);
        }
        4 => {
            // An extra header: one not signed (ignored), or another value of a signed one.
            let name = match how {
                0 => "x-fuzz-unsigned".to_owned(),
                _ => wire.headers.get(at % wire.headers.len().max(1))?.0.clone(),
            };
            out.headers.push((name, ch.to_string()));
        }
        _ => {
            if !wire.headers.is_empty() {
                out.headers.remove(at % wire.headers.len());
            }
        }
    }
    Some(out)
}

/// Inserts, deletes or replaces the character at `at` (counted in characters, wrapping), or
/// re-spells it: a character as `%XX` (hex case from `pick`), an escape in the other hex case.
fn edit(text: &str, how: u8, at: usize, ch: char, pick: u8) -> String {
    let chars: Vec<char> = text.chars().collect();
    let i = at % (chars.len() + 1);
    let mut out: Vec<String> = chars.iter().map(|c| c.to_string()).collect();
    match how {
        0 => out.insert(i, ch.to_string()),
        1 if i < out.len() => {
            out.remove(i);
        }
        2 => {
            if let Some(c) = out.get_mut(i) {
                *c = ch.to_string();
            }
        }
        3 if out.get(i).is_some_and(|c| c == "%") => {
            // An escape: its hex digits in the other case.
            for c in out.iter_mut().skip(i + 1).take(2) {
                *c = flip_case(c);
            }
        }
        3 => {
            if let Some(c) = out.get_mut(i) {
                *c = c
                    .bytes()
                    .map(|b| {
                        if pick & 1 == 0 {
                            format!("%{b:02X}")
                        } else {
                            format!("%{b:02x}")
                        }
                    })
                    .collect();
            }
        }
        _ => {}
    }
    out.concat()
}

fn flip_case(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}
