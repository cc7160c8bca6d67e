"""Who a request acts for: signed bearer tokens (JWT) issued by the shop's login, verified here.

Anonymous search and product pages need no token. Anything that acts for a shopper (orders, returns, events,
personal ranking, chat sessions) acts only for the `sub` of a token whose signature, issuer, audience and
expiry check out. Keys come from `Settings`: an HS256 shared secret (`auth_secret`), a PEM public key
(`auth_public_key`, RS256 or ES256 by its type) or a JWKS file (`auth_jwks`). Each key verifies only the
algorithms of its own kind, so a public key can never be used as an HMAC secret, and `alg: none` is never
accepted. With no key configured, user-scoped actions are refused, except in the demo, which signs its demo
shoppers with a key of its own (`demo_key`, created once under AISLE_HOME, 0600).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aisle.config import Settings
from aisle.files import private_file, read_private_key

DEMO_KEY_FILE = "keys/demo-auth.key"
# a token with this scope may write behaviour events for any shopper (the shop's backend importing its logs)
EVENTS_IMPORT = "events:import"
MAX_TOKEN_CHARS = 8192


class AuthError(Exception):
    """A request that may not act for the shopper it names: `status` is 401 (no valid token) or 403."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Identity:
    """The verified subject of a token and what it may do."""

    subject: str
    scopes: frozenset[str] = frozenset()
    demo: bool = False

    def may(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class _Key:
    key: Any  # bytes for HMAC, a public-key object for RS/ES
    algorithms: tuple[str, ...]
    kid: str | None = None
    demo: bool = False


@dataclass
class TokenVerifier:
    """Checks bearer tokens against the configured keys; `configured` is False when there is none."""

    keys: list[_Key] = field(default_factory=list)
    issuer: str = "aisle"
    audience: str = "aisle"
    leeway_s: int = 30

    @classmethod
    def from_settings(cls, settings: Settings, *, demo_key: bytes | None = None) -> TokenVerifier:
        keys: list[_Key] = []
        if settings.auth_secret is not None:
            keys.append(_Key(_hmac_secret(settings.auth_secret.get_secret_value().encode("utf-8")), ("HS256",)))
        if settings.auth_public_key is not None:
            keys.append(_public_key(settings.auth_public_key.read_bytes()))
        if settings.auth_jwks is not None:
            keys.extend(_jwks(settings.auth_jwks))
        if demo_key is not None:
            keys.append(_Key(_hmac_secret(demo_key), ("HS256",), demo=True))
        return cls(keys, settings.auth_issuer, settings.auth_audience, settings.auth_leeway_s)

    @property
    def configured(self) -> bool:
        return bool(self.keys)

    def verify(self, token: str) -> Identity:
        """The identity a token proves, or AuthError(401) saying in one line what is wrong with it."""
        import jwt

        if not self.keys:
            raise AuthError(401, "sign-in is not configured on this server (no token key): shopper actions are off")
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise AuthError(401, "missing or oversized bearer token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError(401, "the bearer token is not a JWT") from None
        algorithm = str(header.get("alg", ""))
        candidates = [
            k for k in self.keys if algorithm in k.algorithms and (k.kid is None or k.kid == header.get("kid"))
        ]
        if not candidates:
            raise AuthError(401, f"tokens signed with {algorithm or 'no algorithm'!r} are not accepted")
        failure = "the token's signature does not verify"
        for candidate in candidates:
            try:
                claims = jwt.decode(
                    token,
                    candidate.key,
                    algorithms=list(candidate.algorithms),
                    audience=self.audience,
                    issuer=self.issuer,
                    leeway=self.leeway_s,
                    options={"require": ["exp", "iat", "sub", "iss", "aud"]},
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.ExpiredSignatureError:
                raise AuthError(401, "the token has expired") from None
            except jwt.InvalidAudienceError:
                raise AuthError(401, f"the token is not for this audience (expected {self.audience!r})") from None
            except jwt.InvalidIssuerError:
                raise AuthError(401, f"the token was not issued by {self.issuer!r}") from None
            except jwt.PyJWTError as exc:
                failure = f"invalid token: {exc}"
                continue
            return _identity(claims, demo=candidate.demo)
        raise AuthError(401, failure)


def _identity(claims: dict[str, Any], *, demo: bool) -> Identity:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > 200:
        raise AuthError(401, "the token's subject is missing or not a valid shopper id")
    scope = claims.get("scope", "")
    scopes = frozenset(str(scope).split()) if isinstance(scope, str) else frozenset()
    return Identity(subject=subject.strip(), scopes=scopes, demo=demo)


def _hmac_secret(secret: bytes) -> bytes:
    if len(secret) < 32:
        raise ValueError("the HS256 token secret must be at least 32 bytes (e.g. `openssl rand -hex 32`)")
    return secret


def _public_key(pem: bytes, kid: str | None = None) -> _Key:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(pem)
    if isinstance(key, rsa.RSAPublicKey):
        return _Key(key, ("RS256",), kid)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return _Key(key, ("ES256",), kid)
    raise ValueError("the token public key must be an RSA or EC (P-256) key")


def _jwks(path: Path) -> list[_Key]:
    import jwt

    data = json.loads(path.read_text(encoding="utf-8"))
    keys = []
    for jwk in jwt.PyJWKSet.from_dict(data).keys:
        algorithm = jwk.algorithm_name if jwk.algorithm_name in ("RS256", "ES256") else None
        if algorithm is None:
            raise ValueError(f"{path}: only RS256 and ES256 keys are accepted in a JWKS file, not {jwk.algorithm_name}")
        keys.append(_Key(jwk.key, (algorithm,), jwk.key_id))
    if not keys:
        raise ValueError(f"{path} holds no keys")
    return keys


def issue_token(
    settings: Settings,
    subject: str,
    *,
    ttl_s: int = 3600,
    scopes: tuple[str, ...] = (),
    secret: bytes | None = None,
    private_key: bytes | None = None,
) -> str:
    """A signed token for `subject`: HS256 with `secret` (default: Settings.auth_secret), or RS256/ES256 with a
    PEM `private_key`. For operators, tests and the demo; a shop's own login issues tokens the same way."""
    import jwt

    if not subject.strip():
        raise ValueError("a token needs a non-empty subject (--user)")
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject.strip(),
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
        "iat": now,
        "exp": now + ttl_s,
        "jti": secrets.token_hex(8),
    }
    if scopes:
        claims["scope"] = " ".join(scopes)
    if private_key is not None:
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        key = load_pem_private_key(private_key, password=None)
        if isinstance(key, rsa.RSAPrivateKey):
            return jwt.encode(claims, key, algorithm="RS256")
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return jwt.encode(claims, key, algorithm="ES256")
        raise ValueError("the private key must be an RSA or EC (P-256) key")
    if secret is None:
        if settings.auth_secret is None:
            raise ValueError("no signing key: set AISLE_AUTH_SECRET, or pass a private key file or --demo")
        secret = settings.auth_secret.get_secret_value().encode("utf-8")
    return jwt.encode(claims, _hmac_secret(secret), algorithm="HS256")


def demo_key(settings: Settings) -> bytes:
    """The demo's own signing key, created once under AISLE_HOME (0600); a readable one is refused."""
    path = settings.home / DEMO_KEY_FILE
    private_file(path, lambda: secrets.token_hex(32))
    return read_private_key(path)


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` header (None when there is no such header)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise AuthError(401, "use an `Authorization: Bearer <token>` header")
    return token.strip()


def acting_user(identity: Identity | None, named: str | None, what: str) -> str | None:
    """The shopper a request may act for: the token's subject. A request that names a user needs a token for
    exactly that user (401 without one, 403 for another); one that names none acts for the subject, if any."""
    if named is None or not named.strip():
        return identity.subject if identity else None
    if identity is None:
        raise AuthError(401, f"{what} acts for a shopper: send a bearer token whose subject is {named.strip()!r}")
    if named.strip() != identity.subject:
        raise AuthError(403, f"the token is for {identity.subject!r}, not {named.strip()!r}")
    return identity.subject
