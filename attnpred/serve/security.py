"""API keys (constant-time comparison, never logged) and the request-body size limit."""
from __future__ import annotations

import hmac
import os
from pathlib import Path

from attnpred.errors import AttnpredError


def read_keys(keys_file: str | None, env_var: str) -> list[bytes]:
    """Keys from the file (one per line, '#' comments) and the comma-separated env variable."""
    keys: list[str] = []
    if keys_file:
        path = Path(keys_file)
        if not path.is_file():
            raise AttnpredError("API key file not found", file=keys_file, field="api_keys_file")
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                keys.append(line)
    keys += [k.strip() for k in os.environ.get(env_var, "").split(",") if k.strip()]
    return [k.encode() for k in keys]


class KeyCheck:
    """Accepts 'Authorization: Bearer KEY' or 'X-API-Key: KEY' against the configured keys."""

    def __init__(self, keys: list[bytes]) -> None:
        self._keys = keys

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def __repr__(self) -> str:  # keys never appear in logs or tracebacks
        return f"KeyCheck({len(self._keys)} keys)"

    def allows(self, authorization: str | None, x_api_key: str | None) -> bool:
        if not self._keys:
            return True
        given = x_api_key
        if given is None and authorization and authorization[:7].lower() == "bearer ":
            given = authorization[7:].strip()
        if not given:
            return False
        candidate = given.encode()
        ok = False
        for key in self._keys:  # compare with every key: the time does not tell which matched
            ok |= hmac.compare_digest(candidate, key)
        return ok


class BodyLimit:
    """ASGI middleware: 413 for a body over ``limit`` bytes (declared or streamed)."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await self._too_large(scope, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._too_large(scope, send)

    async def _too_large(self, scope, send) -> None:
        from starlette.responses import JSONResponse
        body = {"detail": f"request body exceeds the limit max_body_bytes={self.limit}"}
        await JSONResponse(body, status_code=413)(scope, None, send)


class _TooLarge(Exception):
    pass
