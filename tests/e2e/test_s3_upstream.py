"""The S3 read path authorised through the upstream API (docs/upstream-api.md), end to end in
workerd: boto3 (signed with credentials from /.sts through the test IdP, and unsigned) against
a worker whose `UPSTREAM_API_URL` points at `upstream.TestUpstream`, which verifies every
per-caller JWT against the worker's own JWKS and answers per subject.

Each test uses its own product(s) where the worker's answer cache (30 s, 404s 10 s, keyed by
subject) could otherwise hide a call from the upstream."""

from __future__ import annotations

import os
import time
from urllib.parse import unquote

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from idp import TestIdP
from keys import new_key, session_key_b64
from upstream import TestUpstream, account_entry, encode_segment, product_answer
from s3clients import code, credentials, s3_for, status
from workerd import Worker, free_port

AUDIENCE = "e2e-upstream"
HELLO = os.urandom(1024)

WEIRD = "we?ird#p&x"          # a product name full of URL delimiters
SPACED = "a b ü"              # a space and unicode
PCT = "a%2Fb"                 # a literal "%2F" in the product name: must reach the upstream as %252F


def restricted(prefix: str, read: bool) -> dict:
    return product_answer(prefix, visibility="restricted", read=read, list=read)


# (product, R2 prefix, {subject or None: answer}); every product's objects live under its prefix.
PRODUCTS = {
    "public-data": ("demo/public-data/", {None: product_answer("demo/public-data/")}),
    "restricted-data": ("demo/restricted-data/", {None: restricted("demo/restricted-data/", False),
                                                  "alice": restricted("demo/restricted-data/", True)}),
    "iso": ("demo/iso/", {None: restricted("demo/iso/", False), "alice": restricted("demo/iso/", True)}),
    "cached": ("demo/cached/", {None: product_answer("demo/cached/")}),
    "up401": ("demo/up401/", {None: product_answer("demo/up401/")}),
    "up403": ("demo/up403/", {None: product_answer("demo/up403/")}),
    "up500": ("demo/up500/", {None: product_answer("demo/up500/")}),
    "badjson": ("demo/badjson/", {None: product_answer("demo/badjson/")}),
    "slow": ("demo/slow/", {None: product_answer("demo/slow/")}),
    "bulk": ("demo/bulk/", {None: product_answer("demo/bulk/")}),
    # An R2 prefix from the upstream API lies within {account}/{product}/, names as they are.
    WEIRD: (f"demo/{WEIRD}/", {None: product_answer(f"demo/{WEIRD}/")}),
    SPACED: (f"demo/{SPACED}/", {None: product_answer(f"demo/{SPACED}/")}),
    PCT: (f"demo/{PCT}/", {None: product_answer(f"demo/{PCT}/")}),
    # No prefix: the product's own demo/defaulted/.
    "defaulted": ("demo/defaulted/", {None: {"visibility": "public", "permissions": {"read": True, "list": True},
                                             "backend": {"type": "r2"}}}),
    # Answers the worker refuses: another product's prefix, the whole bucket, no trailing slash.
    "foreign": ("demo/public-data/", {None: product_answer("demo/public-data/")}),
    "everything": ("", {None: product_answer("")}),
    "noslash": ("demo/noslash", {None: product_answer("demo/noslash")}),
}
REFUSED = ("foreign", "everything", "noslash")


def ppath(product: str, account: str = "demo") -> str:
    """The raw upstream path the worker must ask for this product."""
    return f"/products/{encode_segment(account)}/{encode_segment(product)}"


@pytest.fixture(scope="module")
def env():
    idp = TestIdP(name="s3u-idp").start()
    port = free_port()
    key = new_key("s3u-e2e")
    up = TestUpstream(issuer=f"http://127.0.0.1:{port}", audience=AUDIENCE, kid=key.kid).start()
    for product, (_, answers) in PRODUCTS.items():
        for sub, answer in answers.items():
            up.set_product("demo", product, answer, subject=sub)
    up.set_account("demo", [account_entry("public-data")])
    up.set_account("demo", [account_entry("public-data"),
                            account_entry("restricted-data", visibility="restricted")], subject="alice")
    w = Worker(
        port=port,
        vars={
            "OIDC_PROVIDER_ISSUER": f"http://127.0.0.1:{port}",
            "OIDC_PROVIDER_KID": key.kid,
            "INSECURE_TEST_ROUTES": "1",  # for seeding the local bucket and /.test/mint
            "AUTH_ISSUER": idp.issuer,
            "AUTH_AUDIENCE": idp.audience,
            "UPSTREAM_API_URL": up.url,
            "UPSTREAM_API_AUDIENCE": AUDIENCE,
        },
        secrets={"OIDC_PROVIDER_KEY": key.pem, "SESSION_TOKEN_KEY": session_key_b64()},
        extra_toml='[[r2_buckets]]\nbinding = "DATA"\nbucket_name = "e2e-data"\n',
    )
    try:
        w.start()
        seed = {"demo/public-data/hello.txt": HELLO, "demo/restricted-data/secret.txt": b"top secret"}
        for product, (prefix, _) in PRODUCTS.items():
            if product not in REFUSED:
                seed.setdefault(prefix + "file.txt", f"file of {product}".encode())
        for k, body in seed.items():
            quoted = requests.utils.quote(k, safe="/")
            r = requests.put(f"{w.url}/.test/r2/{quoted}", data=body, headers={"content-type": "text/plain"}, timeout=10)
            assert r.status_code == 204, (k, r.status_code, r.text)
        yield w, idp, up
    finally:
        w.stop()
        up.stop()
        idp.stop()


def read(client, product: str, name: str = "file.txt") -> bytes:
    return client.get_object(Bucket="demo", Key=f"{product}/{name}")["Body"].read()


def s3_error(client, product: str, name: str = "file.txt") -> ClientError:
    with pytest.raises(ClientError) as e:
        client.get_object(Bucket="demo", Key=f"{product}/{name}")
    return e.value


@pytest.fixture(scope="module")
def anon(env):
    w, _, _ = env
    return s3_for(w)


@pytest.fixture(scope="module")
def alice(env):
    w, idp, _ = env
    return s3_for(w, credentials(w, idp, "alice"))


@pytest.fixture(scope="module")
def bob(env):
    w, idp, _ = env
    return s3_for(w, credentials(w, idp, "bob"))


def test_public_read_anonymously_with_a_verified_anonymous_jwt(env, anon):
    w, _, up = env
    obj = anon.get_object(Bucket="demo", Key="public-data/hello.txt")
    assert obj["Body"].read() == HELLO
    seen = up.seen(ppath("public-data"))
    assert seen, up.raw_paths()
    assert all(s.ok for s in seen), [s.error for s in seen]
    assert {s.sub for s in seen} == {"anonymous"}
    c = seen[0].claims
    assert c["iss"] == w.url and c["aud"] == AUDIENCE
    assert c["exp"] - c["iat"] == 60 and c["nbf"] == c["iat"]
    assert abs(c["iat"] - time.time()) < 60


def test_restricted_read_denied_anonymously_and_without_permission_allowed_with_it(env, anon, alice, bob):
    _, _, up = env
    for client in (anon, bob):
        e = s3_error(client, "restricted-data", "secret.txt")
        assert code(e) == "AccessDenied" and status(e) == 403
    got = alice.get_object(Bucket="demo", Key="restricted-data/secret.txt")
    assert got["Body"].read() == b"top secret"
    assert "private" in got["ResponseMetadata"]["HTTPHeaders"].get("cache-control", "")
    assert {s.sub for s in up.seen(ppath("restricted-data"))} == {"anonymous", "bob", "alice"}


@pytest.mark.parametrize("product, answer", [("up401", 401), ("up403", 403)])
def test_upstream_401_and_403_are_access_denied(env, alice, product, answer):
    _, _, up = env
    up.fail(ppath(product), status=answer)
    e = s3_error(alice, product)
    assert code(e) == "AccessDenied" and status(e) == 403
    assert up.count(ppath(product), sub="alice") == 1


@pytest.mark.parametrize("product, mode", [("up500", {"status": 500}), ("badjson", {"invalid_json": True})])
def test_upstream_500_or_bad_json_is_503_with_retry_after(env, alice, product, mode):
    _, _, up = env
    up.fail(ppath(product), **mode)
    e = s3_error(alice, product)
    assert status(e) == 503 and code(e) == "ServiceUnavailable", e.response
    assert int(e.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"]) >= 1
    assert up.count(ppath(product), sub="alice") >= 1


def test_upstream_timeout_is_503_within_a_few_seconds(env, alice):
    _, _, up = env
    up.fail(ppath("slow"), delay=7)
    t0 = time.monotonic()
    e = s3_error(alice, "slow")
    took = time.monotonic() - t0
    assert status(e) == 503 and code(e) == "ServiceUnavailable", e.response
    assert int(e.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"]) >= 1
    assert took < 6.9, f"the worker waited {took:.1f}s for the upstream"
    assert up.count(ppath("slow"), sub="alice") == 1


def test_unknown_product_is_no_such_key_and_unknown_account_no_such_bucket(env, alice):
    _, _, up = env
    e = s3_error(alice, "no-such-product")
    assert code(e) == "NoSuchKey"
    assert up.count(ppath("no-such-product"), sub="alice") == 1
    with pytest.raises(ClientError) as e:
        alice.list_objects_v2(Bucket="nobody", Delimiter="/")
    assert code(e.value) == "NoSuchBucket"
    assert up.count("/accounts/nobody/products", sub="alice") >= 1


def test_cache_never_serves_one_subjects_answer_to_another(env, alice, bob):
    _, _, up = env
    assert read(alice, "iso") == b"file of iso"
    e = s3_error(bob, "iso")  # within alice's TTL
    assert code(e) == "AccessDenied"
    assert up.count(ppath("iso"), sub="alice") == 1
    assert up.count(ppath("iso"), sub="bob") == 1
    assert read(alice, "iso") == b"file of iso"  # and bob's denial was not served to alice


def test_a_second_read_by_the_same_subject_is_answered_from_the_cache(env, alice):
    _, _, up = env
    assert read(alice, "cached") == b"file of cached"
    assert read(alice, "cached") == b"file of cached"
    alice.head_object(Bucket="demo", Key="cached/file.txt")
    assert up.count(ppath("cached"), sub="alice") == 1


def test_product_names_reach_the_upstream_as_one_encoded_segment(env, anon):
    w, _, up = env
    # boto3 sends "we%3Fird%23p%26x/file.txt"; the worker decodes it and must re-encode it.
    assert read(anon, WEIRD) == f"file of {WEIRD}".encode()
    assert up.count("/products/demo/we%3Fird%23p%26x", sub="anonymous") == 1
    assert read(anon, SPACED) == f"file of {SPACED}".encode()
    assert up.count("/products/demo/a%20b%20%C3%BC", sub="anonymous") == 1
    # A literal "%2F" in the product name is "%252F" upstream: never a second segment.
    assert read(anon, PCT) == f"file of {PCT}".encode()
    assert up.count("/products/demo/a%252Fb", sub="anonymous") == 1
    # A raw %2F in the request path: whatever the worker makes of it, the upstream is asked
    # about exactly one product segment, never a query, fragment or extra segment.
    before = len(up.raw_paths())
    r = requests.get(w.url + "/demo/a%2Fb/file.txt", timeout=10)
    assert r.status_code in (200, 403, 404), r.text
    for raw in up.raw_paths()[before:]:
        assert raw in ("/products/demo/a", "/products/demo/a%2Fb"), raw
    for raw in up.raw_paths():
        assert "?" not in raw and "#" not in raw, raw
        seg = raw.split("/")[1:]
        assert len(seg) == 3 and seg[0] in ("products", "accounts"), raw
        for s in seg[1:]:  # canonical: unreserved kept, everything else %XX upper-case
            assert encode_segment(unquote(s)) == s, raw


def test_listing_the_account_and_a_product_through_the_upstream(env, anon, alice):
    _, _, up = env
    top = anon.list_objects_v2(Bucket="demo", Delimiter="/")
    assert [p["Prefix"] for p in top.get("CommonPrefixes", [])] == ["public-data/"]
    top = alice.list_objects_v2(Bucket="demo", Delimiter="/")
    assert [p["Prefix"] for p in top.get("CommonPrefixes", [])] == ["public-data/", "restricted-data/"]
    assert {s.sub for s in up.seen("/accounts/demo/products")} >= {"anonymous", "alice"}
    inside = anon.list_objects_v2(Bucket="demo", Prefix="public-data/")
    assert "public-data/hello.txt" in [o["Key"] for o in inside.get("Contents", [])]


def test_bucket_level_requests_use_the_account_endpoint(env, alice):
    _, _, up = env
    alice.head_bucket(Bucket="demo")
    assert alice.get_bucket_location(Bucket="demo")["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as e:
        alice.head_bucket(Bucket="nobody-else")
    assert status(e.value) == 404
    assert up.count("/accounts/nobody-else/products", sub="alice") == 1


def test_one_users_100_signed_gets_cost_at_most_one_rsa_signature(env):
    w, idp, up = env
    client = s3_for(w, credentials(w, idp, "carol"))

    def signatures() -> int:
        r = requests.get(w.url + "/.test/mint", params={"sub": "probe"}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["signatures"]

    signatures()  # mints the probe's own token, if it is the first call
    before = signatures()
    for _ in range(100):
        assert read(client, "bulk") == b"file of bulk"
    after = signatures()
    print(f"\n100 signed GETs by one user cost {after - before} RSA signature(s); "
          f"the upstream was asked {up.count(ppath('bulk'), sub='carol')} time(s)")
    assert after - before <= 1
    assert up.count(ppath("bulk"), sub="carol") >= 1


def test_no_credentials_can_be_issued_for_the_subject_anonymous(env):
    # "anonymous" is what the upstream is told for unsigned requests: never a real caller.
    w, idp, _ = env
    with pytest.raises(ClientError) as e:
        credentials(w, idp, "anonymous")
    assert code(e.value) == "IDPRejectedClaim"


def test_every_jwt_the_upstream_received_verified(env, anon):
    w, _, up = env
    assert anon.get_object(Bucket="demo", Key="public-data/hello.txt")["Body"].read() == HELLO
    assert up.log, "the upstream was never asked"
    print(f"\nthe upstream was asked {len(up.log)} times:")
    for s in up.log:
        print(f"  {s.raw_path}  sub={s.sub!r} ok={s.ok} kid={s.kid} jti={s.claims.get('jti', '')[:8]}")
    assert up.failures() == [], [(s.raw_path, s.error) for s in up.failures()]
    for s in up.log:
        assert s.claims["iss"] == w.url and s.claims["aud"] == AUDIENCE
        assert s.claims["exp"] - s.claims["iat"] == 60
    jtis = {}
    for s in up.log:  # a token may be reused; two different tokens never share a jti
        jtis.setdefault(s.claims["jti"], set()).add(s.token)
    assert all(len(tokens) == 1 for tokens in jtis.values())
    assert "anonymous" in {s.sub for s in up.log}
    # One subject's token is never sent for another.
    by_token = {}
    for s in up.log:
        by_token.setdefault(s.token, set()).add(s.sub)
    assert all(len(subs) == 1 for subs in by_token.values())


def test_a_fresh_isolate_takes_answers_from_the_shared_cache_per_subject(tmp_path):
    """Two workers one after the other on the same local state (Cache API and R2): the second
    one, a fresh isolate with an empty in-memory cache, answers the anonymous caller from the
    Cache API without asking the upstream again, but still asks for a subject it has no
    answer for."""
    idp = TestIdP(name="s3u-shared-idp").start()
    port = free_port()
    key = new_key("s3u-shared")
    up = TestUpstream(issuer=f"http://127.0.0.1:{port}", audience=AUDIENCE, kid=key.kid).start()
    up.set_product("demo", "shared", product_answer("demo/shared/"))
    up.set_product("demo", "shared", product_answer("demo/shared/"), subject="alice")
    state = tmp_path / "state"
    session_key = session_key_b64()

    def worker() -> Worker:
        return Worker(
            port=port, persist_to=state,
            vars={"OIDC_PROVIDER_ISSUER": f"http://127.0.0.1:{port}", "OIDC_PROVIDER_KID": key.kid,
                  "INSECURE_TEST_ROUTES": "1", "AUTH_ISSUER": idp.issuer, "AUTH_AUDIENCE": idp.audience,
                  "UPSTREAM_API_URL": up.url, "UPSTREAM_API_AUDIENCE": AUDIENCE},
            secrets={"OIDC_PROVIDER_KEY": key.pem, "SESSION_TOKEN_KEY": session_key},
            extra_toml='[[r2_buckets]]\nbinding = "DATA"\nbucket_name = "e2e-data"\n')

    first, second = worker(), worker()
    try:
        first.start()
        r = requests.put(f"{first.url}/.test/r2/demo/shared/file.txt", data=b"shared", timeout=10)
        assert r.status_code == 204
        assert read(s3_for(first), "shared") == b"shared"
        assert up.count(ppath("shared"), sub="anonymous") == 1
        first.stop()
        second.start()
        assert read(s3_for(second), "shared") == b"shared"
        assert up.count(ppath("shared"), sub="anonymous") == 1, "the fresh isolate asked the upstream again"
        assert read(s3_for(second, credentials(second, idp, "alice")), "shared") == b"shared"
        assert up.count(ppath("shared"), sub="alice") == 1, "alice was served the anonymous caller's answer"
    finally:
        first.stop()
        second.stop()
        up.stop()
        idp.stop()


def test_an_r2_answer_without_a_prefix_reads_the_products_own_keys(anon):
    assert read(anon, "defaulted") == b"file of defaulted"
    assert [o["Key"] for o in anon.list_objects_v2(Bucket="demo", Prefix="defaulted/")["Contents"]] == [
        "defaulted/file.txt"]


def test_an_answer_whose_r2_prefix_is_not_the_products_own_is_a_logged_503(env, anon):
    w, _, _ = env
    for product in REFUSED:
        for name in ("hello.txt", "demo/public-data/hello.txt", "file.txt"):
            e = s3_error(anon, product, name)
            assert status(e) == 503 and code(e) == "ServiceUnavailable", (product, name)
            assert e.response["ResponseMetadata"]["HTTPHeaders"].get("retry-after"), product
        with pytest.raises(ClientError) as listing:
            anon.list_objects_v2(Bucket="demo", Prefix=f"{product}/")
        assert status(listing.value) == 503, product
        assert w.wait_for_line(lambda line, p=product: line.get("msg") == "upstream answer refused"
                               and line.get("product") == p), w.log()
