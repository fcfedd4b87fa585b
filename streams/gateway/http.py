"""What every HTTP endpoint of the gateway shares: the error body, the request counter, the
facts the access log adds, and the access log itself (docs/channels.md)."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from prometheus_client import Counter

from streams.gateway.pii import mask_pii

TICKET_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
LOG_INFO = web.RequestKey("log_info", dict)

HTTP_REQUESTS = Counter(
    "ticketflow_gateway_requests",
    "HTTP requests answered by the gateway, by endpoint, channel and status code.",
    ["endpoint", "channel", "status"],
)


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body: dict[str, Any] = {"error": code, "message": message}
    if details:
        body["details"] = details
    return web.json_response(body, status=status, headers=headers)


def note(request: web.Request, **fields: str) -> None:
    """Facts for the access log line (never message text or contact data)."""
    request.setdefault(LOG_INFO, {}).update(fields)


class JsonAccessLogger(AbstractAccessLogger):
    """One JSON line per request: method, path, status, duration, channel and error code. No
    bodies, no query strings (WeChat Work signs there), and phone numbers or e-mail addresses
    that appear in a path are masked."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:  # noqa: A002
        line = {
            "method": request.method,
            "path": mask_pii(request.path),
            "status": response.status,
            "duration_ms": round(time * 1000, 2),
            "bytes_in": request.content_length,
        }
        line.update(request.get(LOG_INFO, {}))
        self.logger.info(json.dumps(line, ensure_ascii=False))
