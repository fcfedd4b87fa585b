"""The gateway against an attacker: ids that cannot be squatted, writes that need a credential,
limits that answer with a reason."""

from __future__ import annotations

import json

from tests.adapters import platforms
from tests.gateway.recording import RecordingPublisher, call, secret


async def _post(client, path, body: bytes, headers):
    response = await client.post(path, data=body, headers=headers)
    return response.status, await response.json()


def test_a_client_key_cannot_take_the_id_of_a_channel_message_still_to_come():
    publisher = RecordingPublisher()
    generic = json.dumps({"text": "抢注", "idempotency_key": "fb-1001"}).encode()
    signed = json.dumps({"feedback_id": "fb-1001", "content": "应用闪退", "user": {"user_id": "u1"}}).encode()

    async def requests(client):
        first = await _post(client, "/v1/requests/app", generic, {"Content-Type": "application/json"})
        second = await _post(
            client, "/v1/channels/app/webhook", signed, platforms.signed_headers(secret("app"), signed)
        )
        return first, second

    (status_1, answer_1), (status_2, answer_2) = call(publisher, requests, allow_anonymous_writes_insecure=True)
    assert (status_1, status_2) == (202, 202)
    assert answer_2["duplicate"] is False and answer_1["ticket_id"] != answer_2["ticket_id"]
    assert len(publisher.on("raw.app")) == 2


def test_writes_are_refused_without_a_token_unless_opened_explicitly():
    publisher = RecordingPublisher()
    body = json.dumps({"text": "hi"}).encode()
    action = json.dumps({"type": "close", "by": "someone"}).encode()

    async def requests(client):
        return (
            await _post(client, "/v1/requests/app", body, {"Content-Type": "application/json"}),
            await _post(client, "/v1/tickets/TKT-1/actions", action, {"Content-Type": "application/json"}),
        )

    (request_status, _), (action_status, _) = call(publisher, requests, allow_anonymous_writes_insecure=False)
    assert (request_status, action_status) == (401, 401)
    assert publisher.records == []


def test_each_client_has_its_own_token_and_the_log_names_the_client_not_the_token(caplog):
    import asyncio
    import logging

    from aiohttp.test_utils import TestClient, TestServer

    from streams.gateway.app import Gateway
    from streams.gateway.http import JsonAccessLogger
    from tests.gateway.recording import settings

    publisher = RecordingPublisher()
    body = json.dumps({"text": "hi"}).encode()
    tokens = "crm:crm-token-0123456789abcdef,store-desk:desk-token-0123456789abcdef"
    access = logging.getLogger("ticketflow.access")

    async def main():
        gateway = Gateway(settings(allow_anonymous_writes_insecure=False, api_tokens=tokens), publisher)
        server = TestServer(gateway.build())
        await server.start_server(access_log_class=JsonAccessLogger, access_log=access)  # as `serve` runs it
        answers = []
        async with TestClient(server) as client:
            for token in ("crm-token-0123456789abcdef", "desk-token-0123456789abcdef", "wrong-token-0123456789abcdef"):
                headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
                answers.append((await _post(client, "/v1/requests/app", body, headers))[0])
        return answers

    with caplog.at_level(logging.INFO, logger="ticketflow.access"):
        assert asyncio.run(main()) == [202, 202, 401]
    lines = [json.loads(record.getMessage()) for record in caplog.records if record.name == "ticketflow.access"]
    assert [line.get("client") for line in lines] == ["crm", "store-desk", None]
    assert "token-0123456789abcdef" not in caplog.text


def test_an_anonymous_client_cannot_declare_a_customer_tier():
    publisher = RecordingPublisher()
    body = json.dumps({"text": "给我加急", "customer": {"id": "C1", "tier": "vip"}}).encode()

    async def requests(client):
        return await _post(client, "/v1/requests/app", body, {"Content-Type": "application/json"})

    assert call(publisher, requests)[0] == 202
    ((_, envelope),) = publisher.on("raw.app")
    assert json.loads(envelope["body"])["customer"] == {"id": "C1"}


def test_a_gateway_started_before_its_broker_answers_503_and_says_so_without_internals():
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from streams.gateway.app import Gateway
    from streams.transport.broker import free_port
    from streams.transport.publisher import KafkaPublisher
    from tests.gateway.recording import settings

    async def main():
        publisher = KafkaPublisher(f"127.0.0.1:{free_port()}", timeout=1.0)
        publisher.connect_in_background(retry_seconds=0.2)
        server = TestServer(Gateway(settings(), publisher).build())
        try:
            async with TestClient(server) as client:
                posted = await client.post("/v1/requests/app", json={"text": "hi"})
                health = await client.get("/healthz")
                ready = await client.get("/readyz")
                return (
                    posted.status,
                    posted.headers.get("Retry-After"),
                    health.status,
                    await health.json(),
                    ready.status,
                )
        finally:
            await publisher.stop()

    posted, retry_after, health, body, ready = asyncio.run(main())
    assert (posted, retry_after, health, ready) == (503, "5", 503, 503)
    assert body == {"status": "unavailable", "broker": "unreachable"}
