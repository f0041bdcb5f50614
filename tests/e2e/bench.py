"""Benchmark: prints numbers, asserts nothing (timings here drift 20-40% between runs,
so each latency is also given as a ratio against a baseline measured in the same run).

Measures: wasm size raw and gzipped; `wrangler dev` cold start with a prebuilt bundle;
p50/p99 of /.well-known/jwks.json against the trivial `/` route over sequential
keep-alive requests; the cost of one RS256 signature with WebCrypto and with the `rsa`
crate inside workerd, with `rsa` natively, and with OpenSSL for reference; the STS
exchange; a signed 1 KiB S3 GET from R2 and from an S3-compatible HTTP backend (moto),
the latter against the same GET straight from the backend, and the RSA signatures and
upstream calls 100 GETs of one user cost.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

sys.path.insert(0, str(Path(__file__).parent))
from idp import TestIdP  # noqa: E402
from keys import new_key, session_key_b64  # noqa: E402
from s3clients import credentials, s3_for  # noqa: E402
from workerd import ROOT, Worker, free_port  # noqa: E402

N_LATENCY = 400


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed_gets(session: requests.Session, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = session.get(url, timeout=15)
        r.raise_for_status()
        out.append((time.perf_counter() - t) * 1000)
    return out


def timed(fn, n: int) -> list[float]:
    """Milliseconds of each of `n` sequential calls of `fn`."""
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def provider_worker(key, port=None) -> Worker:
    port = port or free_port()
    return Worker(port=port, vars={
        "OIDC_PROVIDER_ISSUER": f"http://127.0.0.1:{port}", "OIDC_PROVIDER_KID": key.kid,
        "UPSTREAM_API_AUDIENCE": "bench", "INSECURE_TEST_ROUTES": "1"},
        secrets={"OIDC_PROVIDER_KEY": key.pem})


def main() -> None:
    wasm = (ROOT / "build" / "index_bg.wasm").read_bytes()
    print(f"wasm size (release bundle, build/): {len(wasm)} bytes raw, {len(gzip.compress(wasm, 9))} bytes gzip -9")

    key = new_key("bench")
    starts = []
    for _ in range(3):
        w = provider_worker(key).start()
        starts.append(w.ready_after)
        w.stop()
    print(f"wrangler dev cold start (spawn to first 200), prebuilt bundle: "
          f"median {statistics.median(starts):.2f} s of {[round(s, 2) for s in starts]}")

    with provider_worker(key) as w:
        s = requests.Session()
        timed_gets(s, w.url + "/", 50)  # warm up
        base = timed_gets(s, w.url + "/", N_LATENCY)
        jwks = timed_gets(s, w.url + "/.well-known/jwks.json", N_LATENCY)
        b50, b99, j50, j99 = pct(base, 50), pct(base, 99), pct(jwks, 50), pct(jwks, 99)
        print(f"GET / (baseline), {N_LATENCY} sequential: p50 {b50:.2f} ms, p99 {b99:.2f} ms")
        print(f"GET /.well-known/jwks.json, {N_LATENCY} sequential: p50 {j50:.2f} ms, p99 {j99:.2f} ms "
              f"(ratio to baseline: p50 {j50 / b50:.2f}x, p99 {j99 / b99:.2f}x)")

        msg = base64.urlsafe_b64encode(b"header.payload").decode().rstrip("=")
        for signer in ("webcrypto", "rsa"):
            one = timed_gets(s, w.url + f"/.test/sign?msg={msg}&signer={signer}&n=1", 15)
            many = timed_gets(s, w.url + f"/.test/sign?msg={msg}&signer={signer}&n=51", 15)
            per = (statistics.median(many) - statistics.median(one)) / 50
            print(f"one RS256 signature in workerd with {signer}: {per:.2f} ms "
                  f"(median of 15 requests signing 51 times minus 15 signing once, / 50)")

    bench_sts(key)
    bench_s3(key)
    bench_s3_backend(key)

    with tempfile.NamedTemporaryFile("w", suffix=".pem") as f:
        f.write(key.pem)
        f.flush()
        out = subprocess.run(["cargo", "run", "--quiet", "--release", "--example", "sign_bench", "--", f.name, "300"],
                             cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
        print(f"one RS256 signature natively with the rsa crate: {float(out):.2f} ms (mean of 300)")
    t = time.perf_counter()
    for _ in range(300):
        key.private.sign(b"header.payload", padding.PKCS1v15(), hashes.SHA256())
    print(f"one RS256 signature natively with OpenSSL (reference): {(time.perf_counter() - t) / 300 * 1000:.2f} ms")


def bench_sts(key) -> None:
    """AssumeRoleWithWebIdentity with the IdP's keys cached, against GET / in the same worker."""
    with TestIdP(max_age=3600) as idp:
        w = Worker(vars={"AUTH_ISSUER": idp.issuer, "AUTH_AUDIENCE": idp.audience},
                   secrets={"SESSION_TOKEN_KEY": session_key_b64()})
        with w:
            s = requests.Session()
            form = {"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
                    "RoleArn": "arn:aws:iam::000000000000:role/_default", "RoleSessionName": "bench",
                    "WebIdentityToken": idp.mint(), "DurationSeconds": "900"}
            first = s.post(w.url + "/.sts", data=form, timeout=15)
            first.raise_for_status()
            token_len = len(first.text.split("<SessionToken>")[1].split("</SessionToken>")[0])
            times = []
            for _ in range(N_LATENCY // 2):
                t = time.perf_counter()
                s.post(w.url + "/.sts", data=form, timeout=15).raise_for_status()
                times.append((time.perf_counter() - t) * 1000)
            base = timed_gets(s, w.url + "/", N_LATENCY // 2)
            b50, b99, x50, x99 = pct(base, 50), pct(base, 99), pct(times, 50), pct(times, 99)
            print(f"STS exchange with cached IdP keys, {len(times)} sequential: p50 {x50:.2f} ms, p99 {x99:.2f} ms "
                  f"(baseline GET /: p50 {b50:.2f} ms, p99 {b99:.2f} ms; ratio p50 {x50 / b50:.2f}x, "
                  f"p99 {x99 / b99:.2f}x); IdP JWKS fetched {idp.count('/jwks')} time(s)")
            print(f"session token length: {token_len} characters")


def bench_s3(key) -> None:
    """A signed 1 KiB GetObject through the worker (R2 backend, embedded catalogue), against
    the same object read anonymously and the trivial GET / in the same worker. R2 behind a
    binding has no HTTP endpoint of its own, so there is no "straight from the backend" read
    to compare with here (`bench_s3_backend` has one)."""
    catalogue = {"accounts": {"bench": {"products": {
        "p": {"visibility": "restricted", "readers": ["bench-user"], "backend": {"type": "r2", "prefix": "b/p/"}},
        "pub": {"visibility": "public", "backend": {"type": "r2", "prefix": "b/pub/"}}}}}}
    with TestIdP(max_age=3600) as idp:
        port = free_port()
        w = Worker(port=port, vars={
            "OIDC_PROVIDER_ISSUER": f"http://127.0.0.1:{port}", "OIDC_PROVIDER_KID": key.kid,
            "INSECURE_TEST_ROUTES": "1", "AUTH_ISSUER": idp.issuer, "AUTH_AUDIENCE": idp.audience,
            "CATALOGUE": json.dumps(catalogue)},
            secrets={"OIDC_PROVIDER_KEY": key.pem, "SESSION_TOKEN_KEY": session_key_b64()},
            extra_toml='[[r2_buckets]]\nbinding = "DATA"\nbucket_name = "bench"\n')
        with w:
            body = os.urandom(1024)
            for k in ("b/p/one-kib", "b/pub/one-kib"):
                requests.put(f"{w.url}/.test/r2/{k}", data=body, timeout=10).raise_for_status()
            signed = s3_for(w, credentials(w, idp, "bench-user", session="bench"))
            anon = s3_for(w)

            n = N_LATENCY // 2
            get_signed = lambda: signed.get_object(Bucket="bench", Key="p/one-kib")["Body"].read()  # noqa: E731
            get_anon = lambda: anon.get_object(Bucket="bench", Key="pub/one-kib")["Body"].read()  # noqa: E731
            timed(get_signed, 20)
            timed(get_anon, 20)
            sg, an = timed(get_signed, n), timed(get_anon, n)
            base = timed_gets(requests.Session(), w.url + "/", n)
            print(f"S3 GetObject 1 KiB, boto3, {n} sequential: signed p50 {pct(sg, 50):.2f} ms / p99 {pct(sg, 99):.2f} ms; "
                  f"anonymous p50 {pct(an, 50):.2f} / p99 {pct(an, 99):.2f} ms; GET / (requests) p50 "
                  f"{pct(base, 50):.2f} / p99 {pct(base, 99):.2f} ms; signed/anonymous p50 {pct(sg, 50) / pct(an, 50):.2f}x")


def bench_s3_backend(key) -> None:
    """A signed 1 KiB GetObject through the worker from an S3-compatible HTTP backend (moto,
    checking every SigV4 signature, behind its keep-alive front), authorised per caller by the
    upstream API (TestUpstream, verifying every JWT), against the same GET made by boto3
    straight to the backend (through the same front, and to moto itself). Then 100 GETs of
    one user: how many RSA signatures (upstream JWTs) and upstream calls they cost."""
    from s3backend import MotoS3
    from upstream import TestUpstream

    moto = MotoS3(auth=True).start()
    try:
        body = os.urandom(1024)
        seed = moto.client()
        seed.create_bucket(Bucket="bench-data")
        seed.put_object(Bucket="bench-data", Key="p/one-kib", Body=body)
        with TestIdP(max_age=3600) as idp:
            port = free_port()
            up = TestUpstream(issuer=f"http://127.0.0.1:{port}", audience="bench-api", kid=key.kid).start()
            up.set_product("bench", "p", {
                "visibility": "restricted", "permissions": {"read": True, "list": True},
                "backend": {"type": "s3", "endpoint": moto.url, "bucket": "bench-data", "prefix": "p/",
                            "credentials": "BACKEND_BENCH"}}, subject="bench-user")
            w = Worker(port=port, vars={
                "OIDC_PROVIDER_ISSUER": f"http://127.0.0.1:{port}", "OIDC_PROVIDER_KID": key.kid,
                "INSECURE_TEST_ROUTES": "1", "AUTH_ISSUER": idp.issuer, "AUTH_AUDIENCE": idp.audience,
                "UPSTREAM_API_URL": up.url, "UPSTREAM_API_AUDIENCE": "bench-api"},
                secrets={"OIDC_PROVIDER_KEY": key.pem, "SESSION_TOKEN_KEY": session_key_b64(),
                         "BACKEND_BENCH": moto.secret_value})
            try:
                with w:
                    proxy = s3_for(w, credentials(w, idp, "bench-user", session="bench"))
                    front, direct = moto.client(direct=False), moto.client()

                    def signatures() -> int:
                        # /.test/mint signs once itself (a subject of its own) and reports the total.
                        return requests.get(f"{w.url}/.test/mint", params={"sub": f"probe-{time.monotonic_ns()}"},
                                            timeout=10).json()["signatures"]

                    via = lambda: proxy.get_object(Bucket="bench", Key="p/one-kib")["Body"].read()  # noqa: E731
                    fr = lambda: front.get_object(Bucket="bench-data", Key="p/one-kib")["Body"].read()  # noqa: E731
                    dr = lambda: direct.get_object(Bucket="bench-data", Key="p/one-kib")["Body"].read()  # noqa: E731
                    before, calls_before = signatures(), up.count(sub="bench-user")
                    assert all(via() == body for _ in range(100))
                    used = signatures() - before - 1
                    calls = up.count(sub="bench-user") - calls_before
                    print(f"100 signed GETs of one user from the HTTP backend: {used} RSA signature(s), "
                          f"{calls} upstream call(s)")
                    n = N_LATENCY // 2
                    timed(fr, 20)
                    timed(dr, 20)
                    pv, pf, pd = timed(via, n), timed(fr, n), timed(dr, n)
                    base = timed_gets(requests.Session(), w.url + "/", n)
                    print(f"S3 GetObject 1 KiB from an S3-compatible backend (moto), boto3, {n} sequential: "
                          f"through the worker p50 {pct(pv, 50):.2f} / p99 {pct(pv, 99):.2f} ms; straight from the "
                          f"backend (same front) p50 {pct(pf, 50):.2f} / p99 {pct(pf, 99):.2f} ms; moto itself "
                          f"p50 {pct(pd, 50):.2f} / p99 {pct(pd, 99):.2f} ms; added by the worker p50 "
                          f"{pct(pv, 50) - pct(pf, 50):.2f} ms / p99 {pct(pv, 99) - pct(pf, 99):.2f} ms "
                          f"(ratio p50 {pct(pv, 50) / pct(pf, 50):.2f}x, p99 {pct(pv, 99) / pct(pf, 99):.2f}x); "
                          f"the worker's trivial GET / p50 {pct(base, 50):.2f} / p99 {pct(base, 99):.2f} ms")
            finally:
                up.stop()
    finally:
        moto.stop()


if __name__ == "__main__":
    main()
