"""The API key that every write endpoint requires in ``X-API-Key``.

Production compared the header with a literal key baked into server and
clients. loomlite takes the key from the ``api_key`` setting
(``LOOMLITE_API_KEY``) or generates one at start, and compares in constant
time.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from loomlite.runtime.settings import LoomliteSettings

__all__ = ["API_KEY_HEADER", "key_matches", "require_api_key", "resolve_api_key"]

API_KEY_HEADER = "X-API-Key"

_scheme = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


def resolve_api_key(settings: LoomliteSettings) -> tuple[str, bool]:
    """Return the gateway's key and whether it was generated just now."""
    if settings.api_key is not None and settings.api_key.get_secret_value():
        return settings.api_key.get_secret_value(), False
    return secrets.token_urlsafe(24), True


def key_matches(given: str | None, expected: str) -> bool:
    """Compare a presented key with the expected one in constant time."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


async def require_api_key(
    request: Request, given: str | None = Security(_scheme)
) -> None:
    """Reject the request with 401 unless ``X-API-Key`` contains the gateway's key."""
    expected: str = request.app.state.gateway.api_key
    if given is None or not given:
        request.app.state.gateway.metrics.rejected("missing_api_key")
        raise HTTPException(
            status_code=401,
            detail="Missing API key; send it in the X-API-Key header",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    if not key_matches(given, expected):
        request.app.state.gateway.metrics.rejected("invalid_api_key")
        raise HTTPException(
            status_code=401,
            detail="Invalid API key",
            headers={"WWW-Authenticate": "ApiKey"},
        )
