"""POST /v1/feedback: authenticated, 202 once on `feedback`, bad input named and kept."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from streams.gateway.app import Gateway
from streams.settings import Settings
from tests.gateway.recording import RecordingPublisher

TOKEN = "survey-system-token-0123456789"


def call(publisher, requests, **settings):
    async def main():
        options = {"broker_url": "test:9092", "api_tokens": f"surveys:{TOKEN}", **settings}
        server = TestServer(Gateway(Settings(**options), publisher).build())
        async with TestClient(server) as client:
            return await requests(client)

    return asyncio.run(main())


async def post(client, body, token=TOKEN, **headers):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = await client.post("/v1/feedback", json=body, headers=headers)
    return response.status, await response.json()


def test_an_answer_is_published_once_keyed_by_ticket():
    publisher = RecordingPublisher()
    body = {"ticket_id": "TKT-1", "csat": 1, "comment": "还是没修好", "idempotency_key": "s-1"}

    async def twice(client):
        return [await post(client, body) for _ in range(2)]

    (s1, first), (s2, second) = call(publisher, twice)
    assert (s1, s2) == (202, 202)
    assert first["feedback_id"] == second["feedback_id"] and first["feedback_id"].startswith("FB-")
    assert (first["duplicate"], second["duplicate"]) == (False, True)
    ((key, record),) = publisher.on("feedback")
    assert key == b"TKT-1" and record["feedback_id"] == first["feedback_id"] and record["csat"] == 1


def test_the_idempotency_key_header_makes_the_id():
    publisher = RecordingPublisher()

    async def twice(client):
        return [await post(client, {"ticket_id": "TKT-1", "nps": 3}, **{"Idempotency-Key": "h-1"}) for _ in range(2)]

    (_, first), (_, second) = call(publisher, twice)
    assert first["feedback_id"] == second["feedback_id"] and len(publisher.on("feedback")) == 1


def test_writes_need_a_token():
    publisher = RecordingPublisher()
    status, answer = call(
        publisher, lambda c: post(c, {"ticket_id": "TKT-1", "csat": 5}, token="wrong-token-0123456789")
    )
    assert status == 401 and publisher.on("feedback") == []


def test_bad_input_names_the_field_and_is_kept():
    publisher = RecordingPublisher()

    async def several(client):
        return [
            await post(client, body)
            for body in (
                {"ticket_id": "TKT-1", "csat": 6},
                {"ticket_id": "TKT-1", "csat": "5"},
                {"ticket_id": "TKT-1"},
                {"csat": 3},
                {"ticket_id": "bad id!", "csat": 3},
            )
        ]

    answers = call(publisher, several)
    assert [status for status, _ in answers] == [422] * 5
    assert "csat" in answers[0][1]["message"] and "csat" in answers[1][1]["message"]
    assert "at least one" in answers[2][1]["message"] and "ticket_id" in answers[3][1]["message"]
    assert "ticket_id" in answers[4][1]["message"]
    assert publisher.on("feedback") == [] and len(publisher.on("requests.invalid")) == 5


def test_unknown_tickets_are_accepted_for_the_worker_to_keep():
    publisher = RecordingPublisher()
    status, _ = call(publisher, lambda c: post(c, {"ticket_id": "TKT-NEVER-SEEN", "satisfied": False}))
    assert status == 202 and len(publisher.on("feedback")) == 1
