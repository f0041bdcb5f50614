#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oidc_sts_proxy::fuzz::catalogue(data));
