"""The live board in a real headless chromium against a running stack: the page shows what the
gateway's /v1/board reports, and a ticket that breaches turns up as overdue without a reload
(docs/board.md)."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime

import pytest

from streams.board.floor import COUNTS
from streams.transport.broker import free_port
from tests.board.browser import HeadlessChromium, chromium_binary
from tests.integration.conftest import post_json, stack_settings, start_stack

pytestmark = pytest.mark.integration

# Requests on the app channel must be answered within 10 s (a warning at 5 s); the others have hours.
POLICY = """
warn_at: [0.5]
policies:
  - name: fast
    match: {channel: app}
    targets: {first_response: 10s, resolution: 1h}
  - name: slow
    match: {}
    targets: {first_response: 1h, resolution: 2h}
"""

REQUESTS = (
    "请问会员权益有哪些？",
    "我的订单破损了，申请退货",
    "App 登录一直报错 500，无法下单",
    "客服态度太差了，我要投诉",
)
PHONE, EMAIL = "13912345678", "li.lei@example.com"

# What the page shows, read from its DOM.
PAGE_FIGURES = """(() => {
  const totals = {};
  document.querySelectorAll('[data-total]').forEach(n => { totals[n.dataset.total] = n.textContent; });
  const rows = [...document.querySelectorAll('#groups tbody tr')].map(tr => {
    const row = {department: tr.dataset.department, priority: tr.dataset.priority};
    tr.querySelectorAll('td').forEach(td => { row[td.dataset.field] = td.textContent; });
    row.oldest_ticket = tr.querySelector('[data-field=oldest_waiting]').dataset.ticket || '';
    return row;
  });
  const overdue = [...document.querySelectorAll('#overdue tbody tr')].map(tr => tr.dataset.ticket);
  return {renders: Number(document.body.dataset.renders || 0), totals, rows, overdue,
          html: document.documentElement.outerHTML};
})()"""


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()


def _percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.1f}%"


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return json.load(response)


def expected_on_page(board: dict) -> dict:
    """The figures the page must show for this /v1/board document (ages aside: they move)."""
    compliance = board["compliance"]["totals"]
    totals = {name: str(board["totals"][name]) for name in COUNTS}
    oldest = board["totals"]["oldest_waiting"]
    totals.update(
        oldest_ticket=oldest["ticket_id"] if oldest else "",
        first_response_compliance=_percent(compliance["first_response_compliance"]),
        resolution_compliance=_percent(compliance["resolution_compliance"]),
    )
    rows: dict = {}
    for group in board["groups"]:
        rows[(group["department"], group["priority"])] = {
            **{name: str(group[name]) for name in COUNTS},
            "oldest_ticket": group["oldest_waiting"]["ticket_id"] if group["oldest_waiting"] else "",
            "received": "0",
            "first_response_compliance": "—",
            "resolution_compliance": "—",
            "breached": "0",
        }
    for row in board["compliance"]["rows"]:
        shown = rows.setdefault(
            (row["department"], row["priority"]), {**dict.fromkeys(COUNTS, "0"), "oldest_ticket": ""}
        )
        shown.update(
            received=str(row["received"]),
            breached=str(row["breached"]),
            first_response_compliance=_percent(row["first_response_compliance"]),
            resolution_compliance=_percent(row["resolution_compliance"]),
        )
    return {"totals": totals, "rows": rows, "overdue": [t["ticket_id"] for t in board["overdue_tickets"]]}


def shown_on_page(figures: dict) -> dict:
    keep = ("first_response_compliance", "resolution_compliance", "oldest_ticket", *COUNTS)
    totals = {name: figures["totals"][name] for name in keep}
    fields = (*COUNTS, "oldest_ticket", "received", "first_response_compliance", "resolution_compliance", "breached")
    rows = {(row["department"], row["priority"]): {name: row[name] for name in fields} for row in figures["rows"]}
    return {"totals": totals, "rows": rows, "overdue": figures["overdue"]}


def assert_page_matches_api(browser: HeadlessChromium, board_url: str, timeout: float = 20.0) -> dict:
    """The page shows /v1/board's figures: compared when the API gave the same answer just before
    and just after the page was read (a refresh may fall in between otherwise)."""
    deadline = time.monotonic() + timeout
    while True:
        before = expected_on_page(_get(board_url))
        page = shown_on_page(browser.evaluate(PAGE_FIGURES))
        after = expected_on_page(_get(board_url))
        if before == after == page:
            return after
        if time.monotonic() > deadline:
            assert page == after, "the page does not show what /v1/board reports"
        time.sleep(0.3)


def test_the_board_shows_the_api_s_figures_and_a_breach_without_reload(broker, tmp_path):
    chromium_binary()  # fails at once, with the fix, when chromium is missing
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    settings = stack_settings(broker, policy)
    supervisor = start_stack(settings, tmp_path)
    browser = None
    try:
        gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
        board_url = f"{gateway}/v1/board"
        tickets = [
            post_json(
                f"{gateway}/v1/requests/webchat",
                {
                    "text": text,
                    "customer": {"id": f"C-{n}", "phone": PHONE, "email": EMAIL},
                    "submitted_at": _iso(time.time()),
                },
            )["ticket_id"]
            for n, text in enumerate(REQUESTS)
        ]
        post_json(f"{gateway}/v1/tickets/{tickets[0]}/actions", {"type": "reply", "by": "agent-1"})
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            board = _get(board_url)
            if board["totals"]["open"] == len(REQUESTS) and board["compliance"]["totals"]["responded"] == 1:
                break
            time.sleep(0.2)
        assert board["totals"]["open"] == len(REQUESTS), board["totals"]
        assert board["compliance"]["totals"]["first_response_compliance"] == 1.0 and board["coverage"]["complete"]

        browser = HeadlessChromium(tmp_path / "chromium.log")
        browser.open(f"{gateway}/board?refresh=1")
        browser.wait_for(
            "a first render", "!!document.body && Number(document.body.dataset.renders || 0) >= 1", timeout=15
        )
        shown = assert_page_matches_api(browser, board_url)
        assert shown["totals"]["open"] == str(len(REQUESTS)) and shown["totals"]["overdue"] == "0"
        browser.screenshot(tmp_path / "board-before.png")
        browser.evaluate("window.sameDocument = true")

        fast = post_json(
            f"{gateway}/v1/requests/app",
            {
                "text": "我的快递三天了还没到，查一下物流",
                "customer": {"id": "C-fast", "phone": PHONE},
                "submitted_at": _iso(time.time()),
            },
        )["ticket_id"]
        seen_at_risk = False
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            figures = browser.evaluate(PAGE_FIGURES)
            seen_at_risk = seen_at_risk or figures["totals"]["at_risk"] != "0"
            if fast in figures["overdue"]:
                break
            time.sleep(0.25)
        assert fast in figures["overdue"], "the breached ticket did not turn up on the page"
        assert seen_at_risk, "the page never showed the ticket at risk before it breached"
        assert browser.evaluate("window.sameDocument === true"), "the page was reloaded"
        shown = assert_page_matches_api(browser, board_url)
        assert shown["totals"]["overdue"] == "1" and shown["totals"]["open"] == str(len(REQUESTS) + 1)
        (breached_row,) = [row for row in shown["rows"].values() if row["overdue"] == "1"]
        assert breached_row["breached"] == "1"  # today's breaches count it too
        html = browser.evaluate(PAGE_FIGURES)["html"]
        api = json.dumps(_get(board_url), ensure_ascii=False)
        assert all(secret not in text for secret in (PHONE, EMAIL, "C-fast") for text in (html, api))
        browser.screenshot(tmp_path / "board-after.png")
    finally:
        if browser is not None:
            browser.close()
        supervisor.stop()


def test_the_gateway_s_board_adds_up_two_workers_each_partition_once(broker, tmp_path):
    first_port, second_port = free_port(), free_port()
    workers = f"http://127.0.0.1:{first_port},http://127.0.0.1:{second_port}"
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    settings = stack_settings(broker, policy, worker_port=first_port, board_worker_urls=workers)
    supervisor = start_stack(settings, tmp_path)
    try:
        gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
        for n in range(12):
            post_json(
                f"{gateway}/v1/requests/webchat",
                {
                    "text": f"{REQUESTS[n % len(REQUESTS)]} ({n})",
                    "customer": {"id": f"C-{n}"},
                    "submitted_at": _iso(time.time()),
                },
            )
        supervisor.spawn("worker-2", "worker", extra_env={"TICKETFLOW_WORKER_PORT": str(second_port)})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                board = _get(f"{gateway}/v1/board")
                own = [
                    _get(f"http://127.0.0.1:{port}/v1/board")["totals"]["open"] for port in (first_port, second_port)
                ]
            except OSError:  # the second worker is starting
                time.sleep(0.5)
                continue
            if board["coverage"]["complete"] and all(own) and board["totals"]["open"] == 12 == sum(own):
                break
            time.sleep(0.5)
        assert board["coverage"]["complete"], board["coverage"]
        assert [source["ok"] for source in board["coverage"]["sources"]] == [True, True]
        assert board["totals"]["open"] == 12 == sum(own) and all(own), (board["totals"], own)
    finally:
        supervisor.stop()
