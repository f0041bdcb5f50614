//! Insecure routes for the end-to-end suite, served only when `INSECURE_TEST_ROUTES=1`
//! *and* the issuer is a loopback URL (see [`crate::config::Config::insecure_test_routes`]).
//! They expose the signers so the suite can check, inside workerd, that the WebCrypto
//! signer and the `rsa` crate produce identical signatures and how long each takes.
//! A signing oracle must never exist in a deployment; the loopback rule makes sure.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::{Request, Response, StatusCode};

use crate::identity::{Audience, Subject};
use crate::oidc::provider::Provider;
use crate::oidc::signer::{RsaSigner, Signer};
use crate::platform::{Clock, Random};
use crate::web::{self, Body};

pub(crate) const SIGN_PATH: &str = "/.test/sign";
pub(crate) const MINT_PATH: &str = "/.test/mint";
pub(crate) const CREDENTIALS_PATH: &str = "/.test/credentials";

fn query_param(req: &Request<Vec<u8>>, name: &str) -> Option<String> {
    let query = req.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn bad_request(what: &str) -> Response<Body> {
    web::json_error(StatusCode::BAD_REQUEST, "invalid_request", what)
}

/// `GET /.test/sign?msg=<base64url>&signer=webcrypto|rsa&n=<1..200>`: signs `msg` `n` times
/// with the chosen signer and returns the (last) signature.
pub(crate) async fn sign<S: Signer + 'static>(
    req: &Request<Vec<u8>>,
    provider: &Provider<'_, S>,
    rsa: &RsaSigner,
) -> Response<Body> {
    let Some(msg) = query_param(req, "msg").and_then(|m| URL_SAFE_NO_PAD.decode(m).ok()) else {
        return bad_request("msg must be base64url");
    };
    let n = match query_param(req, "n").map(|n| n.parse::<u32>()) {
        None => 1,
        Some(Ok(n)) if (1..=200).contains(&n) => n,
        Some(_) => return bad_request("n must be 1 to 200"),
    };
    let use_rsa = match query_param(req, "signer").as_deref() {
        None | Some("webcrypto") => false,
        Some("rsa") => true,
        Some(_) => return bad_request("signer must be webcrypto or rsa"),
    };
    let mut signature = Vec::new();
    for _ in 0..n {
        let result = if use_rsa {
            rsa.sign_rs256(&msg).await
        } else {
            provider.jwt_signer.primitive().sign_rs256(&msg).await
        };
        match result {
            Ok(s) => signature = s,
            Err(e) => return web::json_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e.to_string()),
        }
    }
    let body = serde_json::json!({ "signature": URL_SAFE_NO_PAD.encode(signature) });
    web::json(StatusCode::OK, body.to_string().into_bytes())
}

/// `GET /.test/mint?sub=<subject>[&aud=<audience>]`: a token from the provider's `JwtSigner`
/// for `aud` (default: the configured upstream audience), and how many signatures the signer
/// has made so far. Under `make dev` this is the local IdP: `/.sts` trusts the worker's own
/// issuer there, so a minted token buys S3 credentials.
pub(crate) async fn mint<S: Signer + 'static>(
    req: &Request<Vec<u8>>,
    provider: &Provider<'_, S>,
    clock: &dyn Clock,
    random: &dyn Random,
) -> Response<Body> {
    let Some(subject) = query_param(req, "sub").and_then(|s| Subject::parse(&s)) else {
        return bad_request("sub is required");
    };
    let audience = match query_param(req, "aud") {
        Some(a) => Audience::parse(&a),
        None => provider
            .config
            .upstream_audience
            .clone()
            .or_else(|| Audience::parse("test")),
    };
    let Some(audience) = audience else {
        return bad_request("aud must be 1 to 256 printable characters");
    };
    match provider.jwt_signer.mint(&subject, None, &audience, clock, random).await {
        Ok(token) => {
            let body = serde_json::json!({ "token": &*token, "signatures": provider.jwt_signer.signatures() });
            web::json(StatusCode::OK, body.to_string().into_bytes())
        }
        Err(e) => web::json_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e.to_string()),
    }
}

/// `GET /.test/credentials?sub=<subject>[&iss=<issuer>]&ttl=<1..3600>`: S3 credentials for `sub` (of `iss`, default the first trusted issuer) that expire
/// after `ttl` seconds (default 60), sealed with the STS keys exactly as `/.sts` seals them.
/// `/.sts` never issues credentials shorter than 900 s (AWS's minimum), so this is how the
/// suite sees the S3 read path refuse credentials past their expiry without waiting 15 min.
pub(crate) fn credentials(
    req: &Request<Vec<u8>>,
    keys: Option<&crate::session::seal::SessionKeys>,
    default_issuer: Option<&crate::identity::Issuer>,
    clock: &dyn Clock,
    random: &dyn Random,
) -> Response<Body> {
    let Some(keys) = keys else {
        return web::json_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "SESSION_TOKEN_KEY is not configured",
        );
    };
    let Some(subject) = query_param(req, "sub").and_then(|s| Subject::parse(&s)) else {
        return bad_request("sub is required");
    };
    // The caller is (issuer, subject): `iss=` names the issuer, else the first trusted one.
    let issuer = match query_param(req, "iss") {
        Some(i) => crate::identity::Issuer::parse_trusted(&i).ok(),
        None => default_issuer.cloned(),
    };
    let Some(issuer) = issuer else {
        return bad_request("iss must be an issuer URL (there is no trusted issuer to default to)");
    };
    let ttl = match query_param(req, "ttl").map(|t| t.parse::<u64>()) {
        None => 60,
        Some(Ok(t)) if (1..=3600).contains(&t) => t,
        Some(_) => return bad_request("ttl must be 1 to 3600"),
    };
    let expires = clock.now_secs() + ttl;
    let Some(audience) = Audience::parse("test-credentials") else {
        return bad_request("no audience");
    };
    let claims = crate::session::seal::SessionClaims {
        sub: subject,
        iss: issuer,
        aud: audience,
        role: "_default".to_owned(),
        akid: crate::session::credentials::access_key_id(random),
        secret: crate::session::credentials::secret_access_key(random),
        exp: expires,
        scope: None,
    };
    let body = serde_json::json!({
        "Version": 1,
        "AccessKeyId": claims.akid,
        "SecretAccessKey": claims.secret.expose_secret(),
        "SessionToken": keys.seal(&claims, random),
        "Expiration": crate::time::rfc3339(expires),
    });
    web::json(StatusCode::OK, body.to_string().into_bytes())
}
