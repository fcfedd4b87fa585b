"""Every channel through the running gateway and worker on a real broker: signed webhooks,
CTI events, the WeChat Work callback and SMTP mail reach raw.<channel> and come out of
normalize as requests; a profile on customers.profiles makes one customer of a phone number
and an e-mail address; a mail reply moves the ticket it answers, and a reply to a mail that
never became a ticket becomes a routed ticket of its own after the (here 3 s) hold, as a web
chat follow-up whose conversation's opening message never came opens that conversation; the
seed-004 sheet imported twice creates each ticket once, with its SLA history, and its bad
rows on requests.invalid."""

from __future__ import annotations

import asyncio
import json
import smtplib
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streams import ids
from streams.catalog import TopicCatalog
from streams.models import ContactIds, CustomerProfile
from streams.supervisor import settings_environment
from tests.adapters import mails, platforms, sheets
from tests.gateway.recording import SECRETS, WECOM, secret
from tests.integration.conftest import AUTH, TopicTail, stack_settings, start_stack

pytestmark = pytest.mark.integration

# E-mail replies and web chat follow-ups wait this long for their ticket before they become requests of their own.
REPLY_HOLD_SECONDS = 3.0

PROFILE = CustomerProfile(
    customer_id="CRM-0042", tier="vip", contacts=ContactIds(phones=["+86 138 0000 4242"], emails=["zhao@example.cn"])
)


@pytest.fixture(scope="module")
def stack(broker, tmp_path_factory):
    directory = tmp_path_factory.mktemp("channels")
    settings = stack_settings(
        broker,
        **SECRETS,
        **WECOM,
        email_reply_hold_minutes=REPLY_HOLD_SECONDS / 60,
        webchat_reply_hold_minutes=REPLY_HOLD_SECONDS / 60,
    )
    supervisor = start_stack(settings, directory)
    catalog = TopicCatalog(settings.topic_prefix)
    tail = TopicTail(
        broker.bootstrap,
        [
            catalog.requests_normalized,
            catalog.requests_invalid,
            catalog.tickets_actions,
            catalog.sla_events,
            *[catalog.department(d) for d in settings.routing.departments],
        ],
    )
    yield {"settings": settings, "catalog": catalog, "tail": tail, "dir": directory}
    tail.close()
    supervisor.stop()


def _url(stack, path: str) -> str:
    settings = stack["settings"]
    return f"http://{settings.gateway_host}:{settings.gateway_port}{path}"


def _normalized(stack) -> dict[str, dict]:
    return {
        request["ticket_id"]: request
        for request in (orjson.loads(r.value) for r in stack["tail"].records(stack["catalog"].requests_normalized))
    }


def _worker_metric(stack, name: str, **labels: str) -> float:
    settings = stack["settings"]
    with urllib.request.urlopen(f"http://{settings.worker_host}:{settings.worker_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and all(item in line for item in wanted)
    )


async def _post_signed(session, url, channel, document) -> tuple[int, dict]:
    raw = json.dumps(document, ensure_ascii=False).encode()
    async with session.post(url, data=raw, headers=platforms.signed_headers(secret(channel), raw)) as response:
        return response.status, await response.json()


def test_each_channel_in_its_own_protocol_becomes_a_normalized_request(stack):
    now = datetime.now(UTC)
    expected: dict[str, str] = {}

    async def send() -> None:
        async with aiohttp.ClientSession(headers=AUTH) as session:
            for channel, document in [
                ("app", {"feedback_id": "it-fb-1", "content": "APP闪退，无法登录", "user": {"phone": "13900001111"}}),
                ("webchat", {"conversation_id": "it-cv-1", "message_id": "m1", "text": "订单什么时候发货？"}),
                (
                    "social",
                    {"platform": "weibo", "message_id": "it-dm-1", "sender": {"user_id": "u9"}, "text": "退款呢"},
                ),
                (
                    "vip",
                    {
                        "report_id": "it-vip-1",
                        "manager": {"id": "am-3"},
                        "customer": {"customer_number": "C9"},
                        "summary": "VIP客户投诉配送延误",
                    },
                ),
            ]:
                status, answer = await _post_signed(
                    session, _url(stack, f"/v1/channels/{channel}/webhook"), channel, document
                )
                assert status == 202, answer
                expected[answer["ticket_id"]] = channel
            wrap_up = {
                "event": "wrap_up",
                "call_id": "it-call-1",
                "at": now.isoformat(),
                "caller": "13900002222",
                "offered_at": (now - timedelta(minutes=4)).isoformat(),
                "answered_at": (now - timedelta(minutes=3)).isoformat(),
                "agent_id": "a-1",
                "notes": "宽带断网，已报修",
            }
            status, answer = await _post_signed(session, _url(stack, "/v1/channels/phone/events"), "phone", wrap_up)
            assert status == 202, answer
            expected[answer["ticket_id"]] = "phone"
            query, body = platforms.wecom_post(platforms.wecom_text_message("我要投诉客服态度", msg_id="it-wecom-1"))
            async with session.post(_url(stack, "/v1/channels/wecom/callback"), params=query, data=body) as response:
                assert (response.status, await response.text()) == (200, "")
            expected[ids.ticket_id("wecom", "it-wecom-1")] = "wecom"

    asyncio.run(send())
    settings = stack["settings"]
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as client:
        client.sendmail("wang@example.cn", ["support@shop.example"], mails.multipart_gbk("<it-mail-1@example.cn>"))
    expected[ids.ticket_id("email", "it-mail-1@example.cn")] = "email"

    stack["tail"].wait_for("every channel normalized", lambda: set(expected) <= set(_normalized(stack)), 60)
    normalized = _normalized(stack)
    assert {ticket: normalized[ticket]["channel"] for ticket in expected} == expected
    assert normalized[ids.ticket_id("email", "it-mail-1@example.cn")]["text"].startswith("订单20261122的蓝牙耳机")
    assert normalized[ids.ticket_id("phone", "it-call-1")]["submitted_at"].startswith(
        (now - timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M")
    )


def _ticket_state(stack, ticket: str) -> dict:
    settings = stack["settings"]
    url = f"http://{settings.worker_host}:{settings.worker_port}/v1/tickets/{ticket}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)
    except urllib.error.HTTPError:
        return {}


def test_a_mail_reply_moves_the_ticket_it_answers(stack):
    settings, tail, catalog = stack["settings"], stack["tail"], stack["catalog"]
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as client:
        client.sendmail(
            "wang@example.cn",
            ["support@shop.example"],
            mails.reply("<it-mail-1@example.cn>", message_id="<it-reply-1@example.cn>"),
        )
    ticket = ids.ticket_id("email", "it-mail-1@example.cn")

    def replied() -> bool:
        return any(
            orjson.loads(r.value)["type"] == "customer_reply" and r.key == ticket.encode()
            for r in tail.records(catalog.tickets_actions)
        )

    tail.wait_for("the customer_reply on the first mail's ticket", replied, 30)
    reply_id = next(
        orjson.loads(r.value)["action_id"] for r in tail.records(catalog.tickets_actions) if r.key == ticket.encode()
    )
    # Applied to the open ticket (at once, or when its request arrived within the hold): never promoted.
    tail.wait_for(
        "the reply applied to the first mail's ticket",
        lambda: _ticket_state(stack, ticket).get("last_action") == reply_id,
        30,
    )
    assert ticket in _normalized(stack)  # the reply did not open a ticket of its own
    assert ids.ticket_id("email", "it-reply-1@example.cn") not in _normalized(stack)


def test_a_mail_replying_to_a_message_that_never_became_a_ticket_is_routed_as_a_ticket_of_its_own(stack):
    settings, tail, catalog = stack["settings"], stack["tail"], stack["catalog"]
    newsletter = ids.ticket_id("email", "it-newsletter-11@news.shop.example")
    reply = mails.reply(
        "<it-newsletter-11@news.shop.example>",
        message_id="<it-orphan-1@example.cn>",
        subject="Re: 双十一会员日",
        text="我上周买的扫地机器人不能充电了，请帮忙处理",
    )
    sent = time.monotonic()
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as client:
        client.sendmail("wang@example.cn", ["support@shop.example"], reply)
    ticket = ids.ticket_id("email", "it-orphan-1@example.cn")
    tail.wait_for("the reply routed as a ticket of its own", lambda: ticket in _owners(stack), 30)
    assert time.monotonic() - sent >= REPLY_HOLD_SECONDS - 0.5  # it waited for the newsletter's ticket first
    (owner,) = [
        event
        for department in settings.routing.departments
        for event in (orjson.loads(r.value) for r in tail.records(catalog.department(department)))
        if event["subject"] == ticket and event["data"]["role"] == "owner"
    ]
    origin = owner["data"]["origin"]
    assert (origin["reason"], origin["thread_ticket"]) == ("no_ticket", newsletter)
    assert origin["thread_message_id"] == "it-newsletter-11@news.shop.example"
    assert owner["data"]["text"].startswith("我上周买的扫地机器人") and owner["data"]["channel"] == "email"
    assert _ticket_state(stack, ticket)["origin"]["reason"] == "no_ticket"
    assert _worker_metric(stack, "ticketflow_orphan_replies_promoted_total", channel="email", reason="no_ticket") == 1


def test_a_web_chat_follow_up_whose_conversation_never_opened_opens_its_ticket_after_the_hold(stack):
    settings, tail, catalog = stack["settings"], stack["tail"], stack["catalog"]
    ticket = ids.ticket_id("webchat", "it-cv-orphan")  # its seq 1 never reached Ticketflow
    webhook = _url(stack, "/v1/channels/webchat/webhook")

    def message(seq: int, text: str) -> dict:
        return {
            "conversation_id": "it-cv-orphan",
            "message_id": f"it-cv-orphan-m{seq}",
            "seq": seq,
            "text": text,
            "visitor": {"visitor_id": "it-visitor-5", "phone": "13900005555"},
        }

    async def post(document: dict) -> dict:
        async with aiohttp.ClientSession(headers=AUTH) as session:
            status, answer = await _post_signed(session, webhook, "webchat", document)
            assert status == 202 and answer["ticket_id"] == ticket, answer
            return answer

    sent = time.monotonic()
    asyncio.run(post(message(2, "我买的空气净化器滤网装不上，怎么办？")))
    tail.wait_for("the follow-up routed as the conversation's ticket", lambda: ticket in _owners(stack), 30)
    assert time.monotonic() - sent >= REPLY_HOLD_SECONDS - 0.5  # it waited for the opening message first
    owners = [
        event
        for department in settings.routing.departments
        for event in (orjson.loads(r.value) for r in tail.records(catalog.department(department)))
        if event["subject"] == ticket and event["data"]["role"] == "owner"
    ]
    (owner,) = owners  # routed once
    assert owner["data"]["text"].startswith("我买的空气净化器") and owner["data"]["origin"]["reason"] == "no_ticket"
    later = asyncio.run(post(message(3, "型号是KJ500")))
    (later_action,) = later["action_ids"]
    tail.wait_for(
        "the next message applied to that ticket",
        lambda: _ticket_state(stack, ticket).get("last_action") == later_action,
        30,
    )
    assert _ticket_state(stack, ticket)["origin"]["thread_ticket"] == ticket
    assert _worker_metric(stack, "ticketflow_orphan_replies_promoted_total", channel="webchat", reason="no_ticket") == 1
    assert (
        len(
            [
                r
                for r in tail.records(catalog.department(owner["data"]["department"]))
                if orjson.loads(r.value)["subject"] == ticket
            ]
        )
        == 1
    )


def test_one_customer_across_phone_and_email_once_the_profile_is_known(stack):
    settings = stack["settings"]

    async def publish_profile() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(
                stack["catalog"].customers_profiles,
                PROFILE.model_dump_json().encode(),
                key=PROFILE.customer_id.encode(),
            )
        finally:
            await producer.stop()

    asyncio.run(publish_profile())
    stack["tail"].wait_for(
        "the contact index updated",
        lambda: _worker_metric(stack, "ticketflow_contact_index_updates_total", kind="put") >= 2,
        30,
    )

    async def send() -> str:
        async with aiohttp.ClientSession(headers=AUTH) as session:
            document = {"feedback_id": "it-fb-zhao", "content": "积分没到账", "user": {"phone": "13800004242"}}
            status, answer = await _post_signed(session, _url(stack, "/v1/channels/app/webhook"), "app", document)
            assert status == 202
            return answer["ticket_id"]

    app_ticket = asyncio.run(send())
    raw = (
        b"From: zhao@example.cn\r\nSubject: points\r\nMessage-ID: <it-zhao@example.cn>\r\n\r\n"
        b"My points are still missing.\r\n"
    )
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as client:
        client.sendmail("zhao@example.cn", ["support@shop.example"], raw)
    mail_ticket = ids.ticket_id("email", "it-zhao@example.cn")
    stack["tail"].wait_for("both normalized", lambda: {app_ticket, mail_ticket} <= set(_normalized(stack)), 30)
    normalized = _normalized(stack)
    assert normalized[app_ticket]["customer_id"] == normalized[mail_ticket]["customer_id"] == "CRM-0042"


def _import(stack, path) -> subprocess.CompletedProcess:
    env = {**settings_environment(stack["settings"]), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "import", str(path)], env=env, capture_output=True, text=True, timeout=120
    )


def _owners(stack) -> dict[str, int]:
    catalog, tail = stack["catalog"], stack["tail"]
    counts: dict[str, int] = {}
    for department in stack["settings"].routing.departments:
        for record in tail.records(catalog.department(department)):
            event = orjson.loads(record.value)
            if event["data"]["role"] == "owner":
                counts[event["subject"]] = counts.get(event["subject"], 0) + 1
    return counts


def test_the_request_log_imported_twice_makes_each_ticket_once_with_its_history(stack):
    path = stack["dir"] / "客户需求登记与跟踪表.csv"
    path.write_bytes(sheets.csv_bytes(sheets.SEED_ROWS + sheets.MORE_ROWS + sheets.BAD_ROWS, encoding="gbk"))
    first = _import(stack, path)
    assert first.returncode == 2, first.stderr
    assert "6 rows: 4 published" in first.stdout and "2 invalid" in first.stdout
    assert f"{path.name} line 6:" in first.stderr and f"{path.name} line 7:" in first.stderr
    from streams.adapters import sheet
    from tests.adapters.test_sheet import intakes

    tickets = [i.ticket_id for i in intakes(sheet.read_csv(path.read_bytes())) if hasattr(i, "ticket_id")]
    tail, catalog = stack["tail"], stack["catalog"]
    tail.wait_for("sheet tickets routed", lambda: set(tickets) <= set(_owners(stack)), 60)

    second = _import(stack, path)
    assert second.returncode == 2 and "4 published" in second.stdout
    time.sleep(3)  # anything duplicated would be routed by now
    owners = _owners(stack)
    assert [owners[ticket] for ticket in tickets] == [1, 1, 1, 1]

    events = [orjson.loads(r.value) for r in tail.records(catalog.sla_events)]
    fulfilled = {(e["subject"], e["data"]["metric"]) for e in events if e["type"] == "sla.fulfilled"}
    assert (tickets[0], "first_response") in fulfilled and (tickets[0], "resolution") in fulfilled
    invalid = [orjson.loads(r.value) for r in tail.records(catalog.requests_invalid)]
    assert sum(1 for record in invalid if record["error_code"] == "invalid_row") >= 2
