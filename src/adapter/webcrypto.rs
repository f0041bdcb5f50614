//! RS256 with WebCrypto (`crypto.subtle`): about ten times faster than `rsa` in wasm.
//! The key is imported once per isolate; every signature awaits that one import.

use futures_util::future::{FutureExt, LocalBoxFuture, Shared};
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Crypto, CryptoKey, SubtleCrypto};

use crate::oidc::keys::ProviderKey;
use crate::oidc::signer::{SignError, Signer};
use crate::secret::SecretBytes;

const ALGORITHM: &str = "RSASSA-PKCS1-v1_5";

pub(super) struct WebCryptoSigner {
    key: Shared<LocalBoxFuture<'static, Result<CryptoKey, SignError>>>,
}

impl WebCryptoSigner {
    pub(super) fn new(key: &ProviderKey) -> Self {
        let der = key.pkcs8_der();
        let import = async move { import(der?).await }.boxed_local().shared();
        Self { key: import }
    }
}

fn subtle() -> Result<SubtleCrypto, SignError> {
    let crypto =
        Reflect::get(&js_sys::global(), &JsValue::from_str("crypto")).map_err(|_| SignError::KeyUnavailable)?;
    Ok(crypto.unchecked_into::<Crypto>().subtle())
}

async fn import(der: SecretBytes) -> Result<CryptoKey, SignError> {
    let err = |_| SignError::KeyUnavailable;
    let algorithm = Object::new();
    Reflect::set(&algorithm, &"name".into(), &ALGORITHM.into()).map_err(err)?;
    Reflect::set(&algorithm, &"hash".into(), &"SHA-256".into()).map_err(err)?;
    let data = Uint8Array::from(der.expose_secret());
    let usages = Array::of1(&"sign".into());
    let promise = subtle()?
        .import_key_with_object("pkcs8", &data, &algorithm, false, &usages)
        .map_err(err)?;
    let key = JsFuture::from(promise).await.map_err(err)?;
    key.dyn_into::<CryptoKey>().map_err(err)
}

impl Signer for WebCryptoSigner {
    async fn sign_rs256(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let key = self.key.clone().await?;
        let promise = subtle()?
            .sign_with_str_and_u8_array(ALGORITHM, &key, message)
            .map_err(|_| SignError::Failed)?;
        let signature = JsFuture::from(promise).await.map_err(|_| SignError::Failed)?;
        Ok(Uint8Array::new(&signature).to_vec())
    }
}
