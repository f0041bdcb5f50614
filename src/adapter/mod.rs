//! The Workers adapter: the only wasm-only code. It converts `worker` types to and from
//! `http` types, reads the environment once per isolate, and implements the core's
//! platform traits with Workers APIs. No protocol logic lives here.

mod cache;
mod convert;
mod fetch;
mod r2;
mod settings;
mod webcrypto;

use std::cell::OnceCell;
use std::sync::OnceLock;

use worker::{event, Context, Env, Request, Response};

use crate::config::Config;
use crate::platform::{Clock, Io, Log, Secrets, SystemRandom};
use crate::router::App;
use crate::secret::SecretString;
use webcrypto::WebCryptoSigner;

/// Configuration, parsed once per isolate.
static CONFIG: OnceLock<Config> = OnceLock::new();

thread_local! {
    /// The application (which holds JS handles, so it stays on this isolate's one thread).
    static APP: OnceCell<&'static App<'static, WebCryptoSigner>> = const { OnceCell::new() };
}

/// `Date.now()`.
struct WorkersClock;

impl Clock for WorkersClock {
    fn now_millis(&self) -> u64 {
        worker::Date::now().as_millis()
    }
}

fn config(env: &Env) -> &'static Config {
    CONFIG.get_or_init(|| {
        let config = Config::from_settings(&settings::EnvSettings(env));
        for error in config.errors() {
            log(&serde_json::json!({ "level": "error", "msg": "configuration error", "error": error.to_string() }));
        }
        config
    })
}

fn app(env: &Env) -> &'static App<'static, WebCryptoSigner> {
    APP.with(|cell| {
        *cell.get_or_init(|| {
            let app = App::new(config(env), WebCryptoSigner::new);
            // Lives as long as the isolate: leaked once, on purpose.
            Box::leak(Box::new(app))
        })
    })
}

/// `console.log`, one JSON object a line.
struct ConsoleLog;

impl Log for ConsoleLog {
    fn log(&self, line: &serde_json::Value) {
        log(line);
    }
}

/// One structured log line (Workers Logs indexes JSON lines).
pub(crate) fn log(line: &serde_json::Value) {
    worker::console_log!("{line}");
}

/// Worker secrets by name, read from the request's `Env` (a secret put with
/// `wrangler secret put` is visible to the next request).
struct EnvSecrets<'a>(&'a Env);

impl Secrets for EnvSecrets<'_> {
    fn secret(&self, name: &str) -> Option<SecretString> {
        self.0.secret(name).ok().map(|s| SecretString::new(s.to_string()))
    }
}

/// `PUT /.test/r2/{key}`: writes the body into the R2 binding, for the end-to-end suite to
/// seed objects. Served only under the same rule as the other insecure test routes.
#[cfg(feature = "insecure-test-routes")]
async fn test_r2_put(mut req: Request, env: &Env) -> worker::Result<Response> {
    let path = req.path();
    let raw_key = path.trim_start_matches("/.test/r2/");
    let key = crate::encoding::percent_decode_text(raw_key);
    let Some(key) = key.filter(|k| !k.is_empty()) else {
        return Response::error("bad key", 400);
    };
    let body = req.bytes().await?;
    let bucket = env.bucket("DATA")?;
    let mut put = bucket.put(key, body);
    if let Some(ct) = req.headers().get("content-type")? {
        put = put.http_metadata(worker::HttpMetadata {
            content_type: Some(ct),
            ..Default::default()
        });
    }
    put.execute().await?;
    Response::empty().map(|r| r.with_status(204))
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let started = worker::Date::now().as_millis();
    #[cfg(feature = "insecure-test-routes")]
    if config(&env).insecure_test_routes && req.method() == worker::Method::Put && req.path().starts_with("/.test/r2/")
    {
        return test_r2_put(req, &env).await;
    }
    let app = app(&env);
    let (method, path) = (req.method().to_string(), req.path());
    let res = match convert::request_from_worker(req).await {
        Ok(req) => {
            let store = r2::R2Store(env.bucket("DATA").ok());
            let secrets = EnvSecrets(&env);
            let io = Io::new(&WorkersClock, &SystemRandom, &fetch::WorkersHttp, &ConsoleLog)
                .with_store(&store)
                .with_secrets(&secrets)
                .with_shared_cache(&cache::WorkersSharedCache);
            app.handle(&req, &io).await
        }
        Err(res) => res,
    };
    log(&serde_json::json!({
        "level": "info",
        "msg": "request",
        "method": method,
        "path": path,
        "status": res.status().as_u16(),
        "ms": worker::Date::now().as_millis().saturating_sub(started),
    }));
    convert::response_to_worker(res)
}
