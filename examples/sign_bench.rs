//! Native cost of one RS256 signature with the `rsa` crate (used by `make bench`).
//! Usage: cargo run --release --example sign_bench -- PEM_FILE [N]

use std::time::Instant;

use oidc_sts_proxy::oidc::keys::{Kid, ProviderKey};
use oidc_sts_proxy::oidc::signer::RsaSigner;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let pem = std::fs::read_to_string(args.next().ok_or("usage: sign_bench PEM_FILE [N]")?)?;
    let n: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(200);
    let kid = Kid::parse("bench").ok_or("kid")?;
    let signer = RsaSigner::new(&ProviderKey::from_pkcs8_pem(kid, &pem)?);
    let msg = b"header.payload";
    signer.sign_now(msg)?; // warm up
    let start = Instant::now();
    for _ in 0..n {
        signer.sign_now(msg)?;
    }
    let per = start.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
    println!("{per:.3}");
    Ok(())
}
