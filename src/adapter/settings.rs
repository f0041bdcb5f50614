//! Reads vars and secrets from the Workers `Env`, wrapping secrets at once.

use worker::Env;

use crate::config::Settings;
use crate::secret::SecretString;

pub(crate) struct EnvSettings<'a>(pub(crate) &'a Env);

impl Settings for EnvSettings<'_> {
    fn var(&self, name: &str) -> Option<String> {
        match self.0.var(name) {
            Ok(v) => Some(v.to_string()).filter(|v| !v.is_empty()),
            // A JSON object in [vars] arrives as an object, not a string.
            Err(_) => self.0.object_var::<serde_json::Value>(name).ok().map(|v| v.to_string()),
        }
    }

    fn secret(&self, name: &str) -> Option<SecretString> {
        // `.dev.vars` entries and `wrangler secret` values are both secret bindings;
        // a plain var of the same name is accepted too, for local use.
        let value = match self.0.secret(name) {
            Ok(s) => s.to_string(),
            Err(_) => self.0.var(name).ok()?.to_string(),
        };
        (!value.is_empty()).then(|| SecretString::new(value))
    }
}
