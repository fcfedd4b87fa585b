"""The board's pages: today's windows on the worker, the gateway's page and its merge of every
worker's board (docs/board.md)."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from streams.board import gateway_pages, view
from streams.board.worker_pages import today_windows
from streams.catalog import TopicCatalog
from streams.domain import windows
from streams.gateway.app import Gateway
from streams.settings import Settings
from streams.stages.windows import SlaWindowsStage
from streams.testing import MemoryWindowStore
from tests.gateway.recording import RecordingPublisher

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 8, 10, 0, tzinfo=SHANGHAI).timestamp()


def test_the_worker_reports_today_s_day_windows_of_its_own_partitions_only():
    stage = SlaWindowsStage(
        TopicCatalog("t."),
        store=MemoryWindowStore(),
        zone="Asia/Shanghai",
        grace_seconds=0,
        retention_seconds={"hour": 1e9, "day": 1e9},
        partition_of=lambda department: 0 if department == "product" else 1,
    )
    facts = [
        windows.fact(
            "responded",
            at=NOW - 60,
            department="product",
            channel=channel,
            priority="high",
            within_target=channel == "app",
            elapsed=30,
        )
        for channel in ("app", "email")
    ]
    facts.append(
        windows.fact(
            "breached", at=NOW - 86400, department="product", channel="app", priority="high", metric="first_response"
        )
    )  # yesterday
    facts.append(windows.fact("received", at=NOW - 60, department="after_sales", channel="app", priority="low"))
    stage.on_facts([(0, offset, orjson.dumps(fact)) for offset, fact in enumerate(facts)])
    found = today_windows(stage, {0}, NOW)
    assert list(found) == [0]
    (row,) = found[0]
    assert (row["department"], row["responded"], row["responded_in_time"], row["breached"]) == ("product", 2, 1, 0)


def test_the_gateway_asks_the_readiness_worker_unless_workers_are_listed():
    assert gateway_pages.worker_urls(Settings(readiness_worker_url="http://w1:6066/v1/status")) == ["http://w1:6066"]
    listed = Settings(board_worker_urls="http://w1:6066/, http://w2:6067", readiness_worker_url="http://x:1/v1/status")
    assert gateway_pages.worker_urls(listed) == ["http://w1:6066", "http://w2:6067"]
    assert gateway_pages.worker_urls(Settings(worker_port=7000)) == ["http://127.0.0.1:7000"]


def _report(partition, open_count):
    return view.report(
        tickets={
            partition: {
                "groups": [
                    {
                        "department": "ops",
                        "priority": "normal",
                        "open": open_count,
                        "waiting_on_customer": 0,
                        "at_risk": 0,
                        "overdue": 0,
                        "oldest_waiting": None,
                    }
                ],
                "overdue_tickets": [],
            }
        },
        windows={partition: []},
        partition_count=2,
        day="2026-12-08",
        timezone_name="Asia/Shanghai",
    )


async def _fake_worker(report):
    async def board(request):
        assert request.query.get("parts") == "1"
        return web.json_response({**view.merge([report], NOW), "parts": report})

    application = web.Application()
    application.add_routes([web.get("/v1/board", board)])
    server = TestServer(application)
    await server.start_server()
    return server


def _with_gateway(worker_urls, requests):
    async def main():
        settings = Settings(broker_url="test:9092", board_worker_urls=worker_urls(*await workers()))
        async with TestClient(TestServer(Gateway(settings, RecordingPublisher()).build())) as client:
            return await requests(client)

    started = []

    async def workers():
        started.extend([await _fake_worker(_report(0, 2)), await _fake_worker(_report(1, 3))])
        return started

    async def run():
        try:
            return await main()
        finally:
            for server in started:
                await server.close()

    return asyncio.run(run())


def test_the_gateway_merges_every_worker_and_names_the_one_that_did_not_answer():
    async def ask(client):
        response = await client.get("/v1/board")
        return response.status, await response.json()

    def urls(first, second):
        return f"http://127.0.0.1:{first.port},http://127.0.0.1:{second.port},http://127.0.0.1:9"

    status, board = _with_gateway(urls, ask)
    assert status == 200 and board["totals"]["open"] == 5
    assert board["coverage"]["complete"] is True
    assert [source["ok"] for source in board["coverage"]["sources"]] == [True, True, False]
    status, board = _with_gateway(lambda *_: "http://127.0.0.1:9", ask)
    assert status == 503 and board["coverage"]["sources"][0]["ok"] is False


def test_the_page_and_its_files_come_from_the_gateway_itself():
    async def fetch(client):
        found = {}
        for path in ("/board", "/board/board.js", "/board/board.css", "/board/secrets.txt", "/board/..%2Fapp.py"):
            response = await client.get(path)
            found[path] = (
                response.status,
                response.headers.get("Content-Type", ""),
                response.headers.get("Content-Security-Policy", ""),
                await response.text(),
            )
        return found

    found = _with_gateway(lambda *_: "http://127.0.0.1:9", fetch)
    status, content_type, policy, html = found["/board"]
    assert status == 200 and content_type.startswith("text/html") and "default-src 'none'" in policy
    assert found["/board/board.js"][:2] == (200, "text/javascript; charset=utf-8")
    assert found["/board/board.css"][0] == 200
    assert found["/board/secrets.txt"][0] == 404 and found["/board/..%2Fapp.py"][0] == 404
    # No build step and no CDN: nothing is loaded from another host.
    for _, _, _, text in found.values():
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", text) and "@import" not in text
    assert "innerHTML" not in found["/board/board.js"][3]  # data goes into the page as text only
