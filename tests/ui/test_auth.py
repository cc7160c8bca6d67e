"""Shoppers are who their token says: real signed tokens against the live server, and the verifier's keys.

Every user-scoped route (events, personalised search, a customer's chat) refuses a missing, forged, expired,
wrong-audience, tampered or unsigned token with 401, another shopper's token with 403, and writes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from pydantic import SecretStr

from aisle.config import Settings
from aisle.ui.auth import EVENTS_IMPORT, AuthError, TokenVerifier, acting_user, issue_token
from tests.ui.conftest import TEST_SECRET, bearer_for, token_for


@pytest.fixture(scope="module")
def http(server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=300) as client:
        yield client


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _bad_tokens(settings: Settings) -> dict[str, str]:
    """Tokens for `ana` that must all be refused."""
    good = token_for(settings, "ana")
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    other_key = settings.model_copy(update={"auth_secret": SecretStr("another-shops-secret-0123456789abcdef!")})
    return {
        "expired": token_for(settings, "ana", ttl_s=-120),
        "wrong key": issue_token(other_key, "ana"),
        "wrong audience": token_for(settings.model_copy(update={"auth_audience": "another-shop"}), "ana"),
        "wrong issuer": token_for(settings.model_copy(update={"auth_issuer": "someone-else"}), "ana"),
        "tampered payload": f"{header}.{_b64({**claims, 'sub': 'ana', 'scope': EVENTS_IMPORT})}.{signature}",
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "not a jwt": "not-a-token",
        "no expiry": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, TEST_SECRET, algorithm="HS256"),
    }


def test_events_need_a_valid_token_and_nothing_is_written_otherwise(http: httpx.Client, ui_service: Any) -> None:
    body = {"events": [{"user": "ana", "product_id": "p03", "type": "purchase"}]}
    before = ui_service.events.count()
    assert http.post("/api/events", json=body).status_code == 401
    for name, token in _bad_tokens(ui_service.settings).items():
        response = http.post("/api/events", json=body, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, (name, response.text)
        assert set(response.json()) == {"detail"} and "\n" not in response.json()["detail"]
    other = http.post("/api/events", json=body, headers=bearer_for(ui_service.settings, "bob"))
    assert other.status_code == 403 and "bob" in other.json()["detail"]
    assert http.post("/api/events", json=body, headers={"Authorization": "Basic YW5hOmFuYQ=="}).status_code == 401
    assert ui_service.events.count() == before  # nothing acknowledged, nothing written


def test_an_import_token_may_write_any_shoppers_events(http: httpx.Client, ui_service: Any) -> None:
    body = {"events": [{"user": "cleo", "product_id": "p04", "type": "view", "event_id": "import-1"}]}
    shop = bearer_for(ui_service.settings, "shop-backend", scopes=(EVENTS_IMPORT,))
    response = http.post("/api/events", json=body, headers=shop)
    assert response.status_code == 200 and response.json()["recorded"] == 1
    assert [e.product_id for e in ui_service.events.history("cleo")] == ["p04"]


def test_personalised_search_acts_only_for_the_tokens_subject(http: httpx.Client, ui_service: Any) -> None:
    query = {"query": "shirts", "user": "ana", "top_k": 3}
    assert http.post("/api/search", json=query).status_code == 401
    assert http.post("/api/search", json=query, headers=bearer_for(ui_service.settings, "bob")).status_code == 403
    expired = {"Authorization": f"Bearer {_bad_tokens(ui_service.settings)['expired']}"}
    assert http.post("/api/search", json={"query": "shirts"}, headers=expired).status_code == 401
    assert http.post("/api/search", json=query, headers=bearer_for(ui_service.settings, "ana")).status_code == 200
    assert http.post("/api/search", json={"query": "shirts"}).status_code == 200  # anonymous search stays open


def test_chat_sessions_belong_to_their_subject(http: httpx.Client, ui_service: Any) -> None:
    message = {"message": "Do you have blue jeans?", "stream": False}
    assert http.post("/api/chat", json={**message, "user": "ana"}).status_code == 401
    bobs = bearer_for(ui_service.settings, "bob")
    assert http.post("/api/chat", json={**message, "user": "ana"}, headers=bobs).status_code == 403
    ana = bearer_for(ui_service.settings, "ana")
    first = http.post("/api/chat", json=message, headers=ana)
    assert first.status_code == 200, first.text
    session = first.json()["session_id"]
    again = http.post("/api/chat", json={**message, "session_id": session}, headers=ana).json()["session_id"]
    assert again == session
    anonymous = http.post("/api/chat", json={**message, "session_id": session}).json()["session_id"]
    bob = http.post(
        "/api/chat", json={**message, "session_id": session}, headers=bearer_for(ui_service.settings, "bob")
    )
    assert anonymous != session and bob.json()["session_id"] != session


# -- the verifier's keys, without a server ------------------------------------------------------------------


def _rsa_and_ec_keys() -> dict[str, tuple[bytes, bytes]]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    pairs = {}
    for name, key in (("rsa", rsa.generate_private_key(65537, 2048)), ("ec", ec.generate_private_key(ec.SECP256R1()))):
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        pairs[name] = (private, public)
    return pairs


def test_public_keys_verify_their_own_algorithm_only(tmp_path: Any) -> None:
    for name, (private, public) in _rsa_and_ec_keys().items():
        (tmp_path / f"{name}.pem").write_bytes(public)
        settings = Settings(home=tmp_path, auth_public_key=tmp_path / f"{name}.pem")
        verifier = TokenVerifier.from_settings(settings)
        assert verifier.verify(issue_token(settings, "ana", private_key=private)).subject == "ana"
        # key confusion: an HS256 token "signed" with the public key as the secret must not pass
        claims = {"sub": "ana", "iss": "aisle", "aud": "aisle", "iat": int(time.time()), "exp": int(time.time()) + 60}
        head = _b64({"alg": "HS256", "typ": "JWT"})
        body = _b64(claims)
        mac = hmac.new(public, f"{head}.{body}".encode(), hashlib.sha256).digest()
        forged = f"{head}.{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
        with pytest.raises(AuthError) as refused:
            verifier.verify(forged)
        assert refused.value.status == 401


def test_jwks_keys_are_chosen_by_kid(tmp_path: Any) -> None:
    from jwt.algorithms import RSAAlgorithm

    private, public = _rsa_and_ec_keys()["rsa"]
    from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

    jwk = json.loads(RSAAlgorithm.to_jwk(load_pem_public_key(public)))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}))
    settings = Settings(home=tmp_path, auth_jwks=tmp_path / "jwks.json")
    verifier = TokenVerifier.from_settings(settings)
    now = int(time.time())
    claims = {"sub": "ana", "iss": "aisle", "aud": "aisle", "iat": now, "exp": now + 60}
    key = load_pem_private_key(private, password=None)
    assert verifier.verify(jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})).subject == "ana"
    with pytest.raises(AuthError):
        verifier.verify(jwt.encode(claims, key, algorithm="RS256", headers={"kid": "unknown"}))


def test_no_key_means_no_shopper_actions(tmp_path: Any) -> None:
    verifier = TokenVerifier.from_settings(Settings(home=tmp_path))
    assert not verifier.configured
    with pytest.raises(AuthError, match="not configured"):
        verifier.verify(token_for(Settings(home=tmp_path), "ana"))


def test_short_secrets_are_refused(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        TokenVerifier.from_settings(Settings(home=tmp_path, auth_secret=SecretStr("short")))


def test_acting_user() -> None:
    from aisle.ui.auth import Identity

    ana = Identity("ana")
    assert acting_user(ana, None, "x") == "ana" and acting_user(ana, "ana", "x") == "ana"
    assert acting_user(None, None, "x") is None
    with pytest.raises(AuthError) as missing:
        acting_user(None, "ana", "x")
    with pytest.raises(AuthError) as other:
        acting_user(ana, "bob", "x")
    assert (missing.value.status, other.value.status) == (401, 403)
