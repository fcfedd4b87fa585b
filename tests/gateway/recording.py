"""A publisher that records instead of talking to a broker, and a gateway on a real loopback
HTTP server around it."""

from __future__ import annotations

import asyncio
import json

from aiohttp.test_utils import TestClient, TestServer

from streams.gateway.app import Gateway
from streams.settings import Settings
from streams.transport.publisher import PublishError
from tests.adapters import platforms

SECRETS = {
    f"{channel}_secret": f"{channel}-secret-0123456789" for channel in ("app", "webchat", "social", "vip", "phone")
}
WECOM = {
    "wecom_token": platforms.WECOM_TOKEN,
    "wecom_aes_key": platforms.WECOM_AES_KEY,
    "wecom_corp_id": platforms.WECOM_CORP_ID,
}


def secret(channel: str) -> bytes:
    return SECRETS[f"{channel}_secret"].encode()


class RecordingPublisher:
    bootstrap = "test:9092"

    def __init__(self, fail: bool = False, delay: float = 0.0, missing: list[str] | None = None) -> None:
        self.fail = fail
        self.delay = delay
        self.missing = missing or []
        self.records: list[tuple[str, bytes, bytes]] = []

    async def publish(self, topic, key, value):
        await asyncio.sleep(self.delay)
        if self.fail:
            raise PublishError("broker down")
        self.records.append((topic, key, value))

    async def missing_topics(self, topics, timeout=3.0):
        if self.fail:
            raise PublishError("broker unreachable")
        return [topic for topic in topics if topic in self.missing]

    def on(self, topic):
        return [(key, json.loads(value)) for name, key, value in self.records if name == topic]


def settings(**overrides) -> Settings:
    return Settings(
        broker_url="test:9092", **{"allow_anonymous_writes_insecure": True, **SECRETS, **WECOM, **overrides}
    )


def call(publisher, requests, *, max_body=64 * 1024, **overrides):
    """Run `requests(client)` against a gateway on a real loopback server."""

    async def main():
        server = TestServer(Gateway(settings(max_body_bytes=max_body, **overrides), publisher).build())
        async with TestClient(server) as client:
            return await requests(client)

    return asyncio.run(main())
