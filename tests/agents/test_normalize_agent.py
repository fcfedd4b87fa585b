"""The normalize agent as faust runs it (agent.test_context), with its sends captured."""

from __future__ import annotations

import asyncio

import orjson

from streams.agents import normalize as normalize_agent
from tests.test_stages import raw_record


def test_agent_forwards_valid_and_rejects_malformed_without_stopping(monkeypatch):
    sent = []
    monkeypatch.setattr(normalize_agent.emitter, "send", lambda outputs: sent.extend(outputs) or [])

    async def main():
        async with normalize_agent.normalize.test_context() as agent:
            # test_context names a multi-topic channel "<internal>"; these records come from raw.app.
            build_message = agent.to_message

            def from_raw_app(*args, **kwargs):
                message = build_message(*args, **kwargs)
                message.topic = "raw.app"
                return message

            agent.to_message = from_raw_app
            await agent.put(b"not an envelope", key=b"s1")
            await agent.put(raw_record(), key=b"s2")

    asyncio.run(main())
    assert [output.topic for output in sent] == ["requests.invalid", "requests.normalized"]
    assert orjson.loads(sent[1].value)["language"] == "zh"


def test_offsets_of_normalize_and_classify_wait_for_their_outputs():
    from streams.agents import classify as classify_agent
    from streams.app import app

    assert normalize_agent.sends in app.pending_writes and classify_agent.sends in app.pending_writes


def test_the_agent_hands_what_it_sends_to_the_commit(monkeypatch):
    sent_futures = []

    def send(outputs):
        futures = [asyncio.get_running_loop().create_future() for _ in outputs]
        sent_futures.extend(futures)
        return futures

    monkeypatch.setattr(normalize_agent.emitter, "send", send)

    async def main():
        async with normalize_agent.normalize.test_context() as agent:
            await agent.put(b"not an envelope", key=b"s1")
            waiting = len(normalize_agent.sends)
            for future in sent_futures:
                future.set_result(None)
            await normalize_agent.sends.drain()
            return waiting, len(normalize_agent.sends)

    assert asyncio.run(main()) == (1, 0)
