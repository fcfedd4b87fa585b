"""The HTTP contract of the gateway. The broker is replaced by a recording publisher here;
the integration tests run the same gateway against the real broker."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp.test_utils import TestClient, TestServer

from streams import ids
from streams.gateway.app import Gateway
from streams.settings import Settings
from tests.gateway.recording import RecordingPublisher


def call(publisher, requests, *, max_body=64 * 1024):
    """Run `requests(client)` against a gateway on a real loopback server."""

    async def main():
        settings = Settings(broker_url="test:9092", max_body_bytes=max_body, allow_anonymous_writes_insecure=True)
        server = TestServer(Gateway(settings, publisher).build())
        async with TestClient(server) as client:
            return await requests(client)

    return asyncio.run(main())


async def post(client, path, **kwargs):
    response = await client.post(path, **kwargs)
    return response.status, await response.json(), response.headers


def test_request_is_published_to_its_raw_topic_and_answered_with_ids():
    publisher = RecordingPublisher()
    body = {"customer": {"phone": "13800000000"}, "text": "我要退货", "idempotency_key": "k1"}
    status, answer, _ = call(publisher, lambda c: post(c, "/v1/requests/app", json=body))
    assert status == 202
    assert answer == {
        "request_id": ids.request_id("app", "k1", ids.CLIENT_KEYS),
        "ticket_id": ids.ticket_id("app", "k1", ids.CLIENT_KEYS),
        "duplicate": False,
    }
    ((key, envelope),) = publisher.on("raw.app")
    assert key.startswith(b"CUS-") and envelope["ticket_id"] == answer["ticket_id"]
    assert json.loads(envelope["body"]) == body and envelope["channel"] == "app"


def test_same_idempotency_key_twice_gives_the_same_ids_and_one_record():
    publisher = RecordingPublisher()
    body = {"text": "hello", "idempotency_key": "same"}

    async def twice(client):
        return [await post(client, "/v1/requests/email", json=body) for _ in range(2)]

    (s1, first, _), (s2, second, _) = call(publisher, twice)
    assert (s1, s2) == (202, 202)
    assert first["ticket_id"] == second["ticket_id"] and second["duplicate"] is True
    assert len(publisher.on("raw.email")) == 1


def test_concurrent_submissions_with_one_key_publish_once():
    publisher = RecordingPublisher(delay=0.05)

    async def together(client):
        return await asyncio.gather(
            *(post(client, "/v1/requests/app", json={"text": "x"}, headers={"Idempotency-Key": "h1"}) for _ in range(5))
        )

    answers = call(publisher, together)
    assert {answer["ticket_id"] for _, answer, _ in answers} == {ids.ticket_id("app", "h1", ids.CLIENT_KEYS)}
    assert len(publisher.on("raw.app")) == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b'{"customer": {}}', 422, "invalid_request"),
        (b'{"text": "ok", "customer": {"tier": "gold"}}', 422, "invalid_request"),
        (b"[1, 2]", 422, "invalid_request"),
    ],
)
def test_bad_request_is_refused_with_a_reason_and_kept_in_requests_invalid(body, status, code):
    publisher = RecordingPublisher()
    got_status, answer, _ = call(publisher, lambda c: post(c, "/v1/requests/app", data=body))
    assert (got_status, answer["error"]) == (status, code) and answer["message"]
    ((_, record),) = publisher.on("requests.invalid")
    assert record["raw_value"] == body.decode() and record["error_code"] == code
    assert record["stage"] == "gateway" and record["replay_topic"] == "raw.app"
    assert publisher.on("raw.app") == []


def test_missing_text_names_the_field():
    _, answer, _ = call(RecordingPublisher(), lambda c: post(c, "/v1/requests/app", json={"customer": {}}))
    assert answer["details"] == [{"field": "text", "problem": "Field required", "kind": "missing"}]


def test_unknown_channel_is_404_and_recorded():
    publisher = RecordingPublisher()
    status, answer, _ = call(publisher, lambda c: post(c, "/v1/requests/fax", json={"text": "hi"}))
    assert (status, answer["error"]) == (404, "unknown_channel")
    assert publisher.on("requests.invalid")[0][1]["channel"] == "unknown"


def test_oversize_body_is_413():
    status, answer, _ = call(
        RecordingPublisher(), lambda c: post(c, "/v1/requests/app", data=b"x" * 5000), max_body=1024
    )
    assert (status, answer["error"]) == (413, "body_too_large")


def test_broker_down_is_503_with_retry_after_and_nothing_remembered():
    publisher = RecordingPublisher(fail=True)

    async def attempt_then_retry(client):
        first = await post(client, "/v1/requests/app", json={"text": "x", "idempotency_key": "r1"})
        publisher.fail = False
        second = await post(client, "/v1/requests/app", json={"text": "x", "idempotency_key": "r1"})
        return first, second

    (status, answer, headers), (retry_status, retry_answer, _) = call(publisher, attempt_then_retry)
    assert (status, answer["error"], headers["Retry-After"]) == (503, "broker_unavailable", "5")
    assert retry_status == 202 and retry_answer["duplicate"] is False
    assert len(publisher.on("raw.app")) == 1


def test_action_is_published_keyed_by_ticket():
    publisher = RecordingPublisher()
    status, answer, _ = call(
        publisher,
        lambda c: post(c, "/v1/tickets/TKT-1/actions", json={"type": "reply", "by": "agent-1", "idempotency_key": "a"}),
    )
    assert status == 202 and answer["action_id"] == ids.action_id("TKT-1", "a")
    ((key, action),) = publisher.on("tickets.actions")
    assert key == b"TKT-1" and action["type"] == "reply" and action["at"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "dance", "by": "a"}, "invalid_action"),
        ({"type": "reply"}, "invalid_action"),
        ({"type": "transfer", "by": "a", "department": "legal"}, "unknown_department"),
    ],
)
def test_bad_action_is_refused(body, code):
    publisher = RecordingPublisher()
    status, answer, _ = call(publisher, lambda c: post(c, "/v1/tickets/TKT-1/actions", json=body))
    assert (status, answer["error"]) == (422, code)
    assert publisher.on("tickets.actions") == []


def test_healthz_reports_missing_topics_and_unreachable_broker():
    async def get(client):
        response = await client.get("/healthz")
        return response.status, await response.json()

    assert call(RecordingPublisher(), get)[0] == 200
    status, body = call(RecordingPublisher(missing=["raw.app"]), get)
    assert status == 503 and body["missing_topics"] == ["raw.app"]
    assert call(RecordingPublisher(fail=True), get)[0] == 503


def test_metrics_count_answers_by_endpoint_channel_and_status():
    async def scenario(client):
        await post(client, "/v1/requests/vip", json={"text": "hi"})
        response = await client.get("/metrics")
        return await response.text()

    text = call(RecordingPublisher(), scenario)
    assert 'ticketflow_gateway_requests_total{channel="vip",endpoint="requests",status="202"}' in text


def test_generic_endpoints_require_the_api_token_when_one_is_set():
    async def main():
        from pydantic import SecretStr

        settings = Settings(broker_url="test:9092", api_token=SecretStr("s3cret-token-for-tests"))
        publisher = RecordingPublisher()
        server = TestServer(Gateway(settings, publisher).build())
        async with TestClient(server) as client:
            missing = await post(client, "/v1/requests/app", json={"text": "hi"})
            wrong = await post(
                client,
                "/v1/tickets/TKT-1/actions",
                json={"type": "reply", "by": "a"},
                headers={"Authorization": "Bearer nope"},
            )
            good = await post(
                client,
                "/v1/requests/app",
                json={"text": "hi"},
                headers={"Authorization": "Bearer s3cret-token-for-tests"},
            )
        return missing, wrong, good, publisher

    (s1, a1, h1), (s2, _, _), (s3, _, _), publisher = asyncio.run(main())
    assert (s1, a1["error"], h1["WWW-Authenticate"]) == (401, "unauthorized", "Bearer")
    assert (s2, s3) == (401, 202)
    assert len(publisher.on("raw.app")) == 1 and publisher.on("tickets.actions") == []
