"""The gateway's live board: `GET /board` (the page, with its script and style) and
`GET /v1/board`, the boards of every worker (TICKETFLOW_BOARD_WORKER_URLS) merged, each
partition counted once (docs/board.md). Nothing is loaded from elsewhere: the page's files are
package data."""

from __future__ import annotations

import asyncio
import logging
import time
from importlib import resources
from urllib.parse import urlsplit

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from streams.board import view
from streams.settings import Settings

log = logging.getLogger("ticketflow.gateway")

ASSETS = {"board.js": "text/javascript", "board.css": "text/css"}
# Workers are asked at most this often, however many screens show the board.
CACHE_SECONDS = 1.0
WORKER_TIMEOUT_SECONDS = 2.0
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def worker_urls(settings: Settings) -> list[str]:
    """The workers whose boards are merged: TICKETFLOW_BOARD_WORKER_URLS, else the readiness
    worker's host, else this machine's worker."""
    if settings.board_worker_urls:
        return [url.strip().rstrip("/") for url in settings.board_worker_urls.split(",") if url.strip()]
    if settings.readiness_worker_url:
        parts = urlsplit(settings.readiness_worker_url)
        return [f"{parts.scheme}://{parts.netloc}"]
    return [f"http://{settings.advertised_worker_host}:{settings.worker_port}"]


def _asset(name: str) -> bytes:
    return resources.files("streams.board").joinpath("static", name).read_bytes()


class BoardPages:
    def __init__(self, settings: Settings) -> None:
        self.workers = worker_urls(settings)
        self.page_html = _asset("board.html")
        self.assets = {name: _asset(name) for name in ASSETS}
        self._lock = asyncio.Lock()
        self._cached: tuple[float, int, dict] | None = None

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/board", self.page), web.get("/board/{asset}", self.asset), web.get("/v1/board", self.board)]

    async def page(self, request: web.Request) -> web.Response:
        return web.Response(body=self.page_html, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS)

    async def asset(self, request: web.Request) -> web.Response:
        name = request.match_info["asset"]
        if name not in ASSETS:
            raise web.HTTPNotFound()
        return web.Response(
            body=self.assets[name], content_type=ASSETS[name], charset="utf-8", headers=SECURITY_HEADERS
        )

    async def board(self, request: web.Request) -> web.Response:
        """The merged board; 503 (same document) when no worker answered."""
        async with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] >= CACHE_SECONDS:
                status, document = await self._merged()
                self._cached = (time.monotonic(), status, document)
            _, status, document = self._cached
        return web.json_response(document, status=status, headers={"Cache-Control": "no-store"})

    async def _merged(self) -> tuple[int, dict]:
        async with ClientSession(timeout=ClientTimeout(total=WORKER_TIMEOUT_SECONDS)) as session:
            answers = await asyncio.gather(*(self._ask(session, url) for url in self.workers))
        reports = [report for report, _ in answers if report is not None]
        sources = [source for _, source in answers]
        document = view.merge(reports, time.time(), sources=sources)
        return (200 if reports else 503), document

    @staticmethod
    async def _ask(session: ClientSession, url: str) -> tuple[dict | None, dict]:
        try:
            async with session.get(f"{url}/v1/board", params={"parts": "1"}) as response:
                if response.status != 200:
                    return None, {"worker": url, "ok": False, "error": f"HTTP {response.status}"}
                document = await response.json()
                return document["parts"], {"worker": url, "ok": True}
        except (TimeoutError, ClientError, ValueError, KeyError, TypeError) as exc:
            log.warning("board: worker %s did not answer: %s", url, exc.__class__.__name__)
            return None, {"worker": url, "ok": False, "error": exc.__class__.__name__}
