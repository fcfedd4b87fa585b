"""The normalize agent as faust runs it (agent.test_context), on an app built with the test's own
settings, its sends captured."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from streams.app import create_app
from streams.settings import Settings
from tests.stages.helpers import raw_record


@pytest.fixture
def app(tmp_path):
    settings = Settings(app_id="agent-test", broker_url="127.0.0.1:1", state_dir=tmp_path, topic_prefix="")
    settings.load_operator_files()
    return create_app(settings)


def test_agent_forwards_valid_and_rejects_malformed_without_stopping(app, monkeypatch):
    sent = []
    monkeypatch.setattr(app.pipeline_topics.emitter, "send", lambda outputs: sent.extend(outputs) or [])

    async def main():
        async with app.pipeline.normalize.agent.test_context() as agent:
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


def test_offsets_of_normalize_and_classify_wait_for_their_outputs(app):
    assert app.pipeline.normalize.sends in app.pending_writes and app.pipeline.classify.sends in app.pending_writes


def test_the_agent_hands_what_it_sends_to_the_commit(app, monkeypatch):
    sent_futures = []

    def send(outputs):
        futures = [asyncio.get_running_loop().create_future() for _ in outputs]
        sent_futures.extend(futures)
        return futures

    monkeypatch.setattr(app.pipeline_topics.emitter, "send", send)
    sends = app.pipeline.normalize.sends

    async def main():
        async with app.pipeline.normalize.agent.test_context() as agent:
            await agent.put(b"not an envelope", key=b"s1")
            waiting = len(sends)
            for future in sent_futures:
                future.set_result(None)
            await sends.drain()
            return waiting, len(sends)

    assert asyncio.run(main()) == (1, 0)


def test_two_apps_in_one_process_keep_their_own_settings(tmp_path):
    first = create_app(Settings(app_id="first", broker_url="127.0.0.1:1", state_dir=tmp_path, partitions=2))
    second = create_app(
        Settings(app_id="second", broker_url="127.0.0.1:1", state_dir=tmp_path, partitions=6, topic_prefix="b.")
    )
    assert (first.conf.id, second.conf.id) == ("first", "second")
    assert first.pipeline_tables.tickets_table.partitions == 2 and second.pipeline_tables.tickets_table.partitions == 6
    assert second.pipeline_topics.requests_classified.get_topic_name() == "b.requests.classified"
