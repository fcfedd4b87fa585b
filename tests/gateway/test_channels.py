"""The channel endpoints of the gateway over real HTTP (aiohttp test server on 127.0.0.1),
with a recording publisher in place of the broker."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC

from aiohttp.test_utils import TestClient, TestServer

from streams import ids
from streams.gateway.app import Gateway
from streams.gateway.http import JsonAccessLogger
from tests.adapters import platforms
from tests.gateway.recording import RecordingPublisher, call, secret, settings

FEEDBACK = {"feedback_id": "fb-42", "user": {"phone": "13800004444"}, "content": "APP闪退，无法登录"}


async def signed_post(client, channel, body: dict | bytes, *, key=None, at=None, path=None):
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = platforms.signed_headers(key or secret(channel), raw, at)
    response = await client.post(path or f"/v1/channels/{channel}/webhook", data=raw, headers=headers)
    return response.status, await response.json()


def test_signed_webhook_is_published_once_to_its_raw_topic_after_the_ack():
    publisher = RecordingPublisher()
    status, answer = call(publisher, lambda c: signed_post(c, "app", FEEDBACK))
    assert status == 202
    assert answer == {
        "request_id": ids.request_id("app", "fb-42"),
        "ticket_id": ids.ticket_id("app", "fb-42"),
        "duplicate": False,
    }
    ((key, envelope),) = publisher.on("raw.app")
    assert envelope["adapter"] == "webhook/v1" and json.loads(envelope["body"]) == FEEDBACK
    assert key.startswith(b"CUS-")


def test_redelivered_webhook_answers_the_same_ids_and_publishes_nothing_more():
    publisher = RecordingPublisher()

    async def twice(client):
        return [await signed_post(client, "app", FEEDBACK) for _ in range(2)]

    (_, first), (_, second) = call(publisher, twice)
    assert second["duplicate"] is True and second["ticket_id"] == first["ticket_id"]
    assert len(publisher.on("raw.app")) == 1


def test_bad_signature_is_401_counted_and_not_published():
    publisher = RecordingPublisher()

    async def scenario(client):
        answer = await signed_post(client, "social", {"message_id": "1"}, key=b"not-the-social-secret")
        metrics = await (await client.get("/metrics")).text()
        return answer, metrics

    (status, answer), metrics = call(publisher, scenario)
    assert (status, answer["error"]) == (401, "bad_signature")
    assert publisher.records == []
    assert 'ticketflow_gateway_refused_total{channel="social",error_code="bad_signature"}' in metrics


def test_missing_signature_is_401():
    status, answer = call(RecordingPublisher(), lambda c: _post(c, "/v1/channels/vip/webhook", json.dumps({}).encode()))
    assert (status, answer["error"]) == (401, "missing_signature")


def test_replayed_webhook_signed_ten_minutes_ago_is_refused():
    status, answer = call(RecordingPublisher(), lambda c: signed_post(c, "app", FEEDBACK, at=int(time.time()) - 600))
    assert (status, answer["error"]) == (401, "stale_timestamp")


def test_verified_but_invalid_body_is_422_and_kept_for_replay():
    publisher = RecordingPublisher()
    status, answer = call(publisher, lambda c: signed_post(c, "webchat", {"conversation_id": "c", "text": ""}))
    assert status == 422 and answer["error"] == "invalid_request" and answer["details"]
    ((_, record),) = publisher.on("requests.invalid")
    assert record["stage"] == "gateway" and record["replay_topic"] == "raw.webchat" and record["channel"] == "webchat"


def test_channel_without_a_configured_secret_is_refused():
    status, answer = call(RecordingPublisher(), lambda c: signed_post(c, "app", FEEDBACK), app_secret=None)
    assert (status, answer["error"]) == (403, "channel_not_configured")


def test_unknown_webhook_channel_is_404():
    status, answer = call(
        RecordingPublisher(), lambda c: signed_post(c, "app", FEEDBACK, path="/v1/channels/fax/webhook")
    )
    assert (status, answer["error"]) == (404, "unknown_channel")


def test_web_chat_follow_up_goes_to_tickets_actions_keyed_by_ticket():
    publisher = RecordingPublisher()
    message = {"conversation_id": "cv-1", "message_id": "m-2", "seq": 2, "text": "还在吗"}
    status, answer = call(publisher, lambda c: signed_post(c, "webchat", message))
    assert status == 202 and answer["ticket_id"] == ids.ticket_id("webchat", "cv-1") and "request_id" not in answer
    ((key, action),) = publisher.on("tickets.actions")
    assert key == answer["ticket_id"].encode() and action["type"] == "customer_reply"
    assert publisher.on("raw.webchat") == []


def _wecom_verify_query(echo: bytes) -> dict[str, str]:
    """The URL check the platform sends now: the echostr encrypted and signed with a fresh timestamp."""
    encrypted = platforms.wecom_encrypt(echo)
    timestamp, nonce = str(int(time.time())), "1372623149"
    return {
        "msg_signature": platforms.wecom_signature(platforms.WECOM_TOKEN, timestamp, nonce, encrypted),
        "timestamp": timestamp,
        "nonce": nonce,
        "echostr": encrypted,
    }


def test_wecom_url_verification_answers_the_decrypted_echostr():
    async def verify(client):
        response = await client.get("/v1/channels/wecom/callback", params=_wecom_verify_query(b"1616140317555161061"))
        return response.status, await response.text()

    assert call(RecordingPublisher(), verify) == (200, "1616140317555161061")


def test_wecom_url_verification_signed_long_ago_is_refused():
    async def verify(client):
        response = await client.get("/v1/channels/wecom/callback", params=platforms.KNOWN_VERIFY)
        return response.status, (await response.json())["error"]

    assert call(RecordingPublisher(), verify) == (401, "stale_timestamp")


async def _post(client, path, body, params=None, headers=None):
    response = await client.post(path, data=body, params=params, headers=headers or {})
    text = await response.text()
    return response.status, (json.loads(text) if text.startswith("{") else text)


def test_wecom_message_is_answered_200_and_published_decrypted():
    publisher = RecordingPublisher()
    query, body = platforms.wecom_post(platforms.wecom_text_message("我要投诉", msg_id="88"))
    status, text = call(publisher, lambda c: _post(c, "/v1/channels/wecom/callback", body, query))
    assert (status, text) == (200, "")
    ((key, envelope),) = publisher.on("raw.wecom")
    assert envelope["idempotency_key"] == "88" and "<Content><![CDATA[我要投诉]]></Content>" in envelope["body"]
    assert platforms.WECOM_AES_KEY not in json.dumps(envelope) and platforms.WECOM_TOKEN not in envelope["body"]


def test_wecom_message_with_a_bad_signature_is_401_and_not_published():
    publisher = RecordingPublisher()
    query, body = platforms.wecom_post(platforms.wecom_text_message("hi"))
    status, answer = call(
        publisher, lambda c: _post(c, "/v1/channels/wecom/callback", body, {**query, "msg_signature": "f" * 40})
    )
    assert (status, answer["error"]) == (401, "bad_signature") and publisher.records == []


def test_wecom_unconfigured_is_refused():
    query, body = platforms.wecom_post(platforms.wecom_text_message("hi"))
    status, answer = call(
        RecordingPublisher(),
        lambda c: _post(c, "/v1/channels/wecom/callback", body, query),
        wecom_token=None,
        wecom_aes_key=None,
        wecom_corp_id=None,
    )
    assert (status, answer["error"]) == (403, "channel_not_configured")


def test_phone_wrap_up_publishes_the_request_and_the_first_response():
    publisher = RecordingPublisher()
    now = time.time()
    event = {
        "event": "wrap_up",
        "call_id": "call-5",
        "at": _iso(now),
        "offered_at": _iso(now - 300),
        "answered_at": _iso(now - 240),
        "caller": "13900005555",
        "agent_id": "a-3",
        "notes": "退货咨询",
    }
    status, answer = call(publisher, lambda c: signed_post(c, "phone", event, path="/v1/channels/phone/events"))
    assert status == 202 and answer["ticket_id"] == ids.ticket_id("phone", "call-5") and len(answer["action_ids"]) == 1
    assert [e["idempotency_key"] for _, e in publisher.on("raw.phone")] == ["call-5:wrap_up"]
    assert [a["type"] for _, a in publisher.on("tickets.actions")] == ["reply"]


def test_offered_then_answered_measures_the_answer_wait_against_ten_minutes():
    now = time.time()

    async def calls(client):
        for call_id, wait in (("fast", 120), ("slow", 900)):
            for kind, at in (("offered", now - wait), ("answered", now)):
                event = {"event": kind, "call_id": call_id, "at": _iso(at), "caller": "13900006666"}
                status, _ = await signed_post(client, "phone", event, path="/v1/channels/phone/events")
                assert status == 202
        return await (await client.get("/metrics")).text()

    before = _samples(call(RecordingPublisher(), _metrics))
    after = _samples(call(RecordingPublisher(), calls))
    assert (
        after['ticketflow_calls_answered_total{within_target="true"}']
        - before.get('ticketflow_calls_answered_total{within_target="true"}', 0)
        == 1
    )
    assert (
        after['ticketflow_calls_answered_total{within_target="false"}']
        - before.get('ticketflow_calls_answered_total{within_target="false"}', 0)
        == 1
    )


async def _metrics(client):
    return await (await client.get("/metrics")).text()


def _samples(text: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def _iso(moment: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(moment, UTC).isoformat()


def test_oversize_channel_body_is_413_and_not_published():
    publisher = RecordingPublisher()
    status, answer = call(publisher, lambda c: signed_post(c, "app", b"x" * 5000), max_body=1024)
    assert (status, answer["error"]) == (413, "body_too_large") and publisher.records == []


def test_broker_down_is_503_with_retry_after_for_channels_too():
    async def scenario(client):
        raw = json.dumps(FEEDBACK).encode()
        response = await client.post(
            "/v1/channels/app/webhook", data=raw, headers=platforms.signed_headers(secret("app"), raw)
        )
        return response.status, response.headers.get("Retry-After"), (await response.json())["error"]

    assert call(RecordingPublisher(fail=True), scenario) == (503, "5", "broker_unavailable")


def test_access_log_has_channel_and_error_but_no_text_phone_or_secret(caplog):
    async def main():
        server = TestServer(Gateway(settings(), RecordingPublisher()).build())
        await server.start_server(access_log_class=JsonAccessLogger, access_log=logging.getLogger("ticketflow.access"))
        async with TestClient(server) as client:
            await signed_post(client, "app", FEEDBACK)
            await signed_post(client, "app", FEEDBACK, key=b"wrong-secret-0123456789")
            await _post(client, "/v1/requests/13800004444", b"{}")

    with caplog.at_level(logging.INFO, logger="ticketflow.access"):
        asyncio.run(main())
    lines = [json.loads(record.getMessage()) for record in caplog.records if record.name == "ticketflow.access"]
    assert [(line["channel"], line["status"], line.get("error")) for line in lines] == [
        ("app", 202, None),
        ("app", 401, "bad_signature"),
        ("unknown", 404, "unknown_channel"),
    ]
    assert "13800004444" not in caplog.text and "闪退" not in caplog.text and "app-secret" not in caplog.text
    assert lines[2]["path"] == "/v1/requests/*******4444"


def test_settings_never_show_their_secrets():
    shown = repr(settings()) + str(settings().model_dump())
    assert "app-secret-0123456789" not in shown and platforms.WECOM_AES_KEY not in shown
