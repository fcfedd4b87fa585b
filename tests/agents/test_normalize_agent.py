"""The normalize agent as faust runs it (agent.test_context), with its sends captured."""

from __future__ import annotations

import asyncio

import orjson

from streams.agents import normalize as normalize_agent
from tests.test_stages import raw_record


def test_agent_forwards_valid_and_rejects_malformed_without_stopping(monkeypatch):
    sent = []
    monkeypatch.setattr(normalize_agent.emitter, "send", lambda outputs: sent.extend(outputs))

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
