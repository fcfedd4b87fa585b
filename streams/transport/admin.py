"""Topic administration: create every topic with its partition count before anything runs.

Creating topics up front matters twice: co-partitioned topics (everything keyed by ticket
id) must have the same partition count, and some brokers (the embedded one among them)
auto-create an unknown topic with their own default count the moment a client asks for its
metadata, which then clashes with faust's changelogs.
"""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError

from streams.catalog import TopicSpec

_TOPIC_ALREADY_EXISTS = 36


class TopicSetupError(RuntimeError):
    pass


async def existing_topics(admin: AIOKafkaAdminClient) -> dict[str, int]:
    # Metadata for *all* topics: asking for named topics could auto-create them.
    described = await admin.describe_topics(None)
    return {topic["topic"]: len(topic["partitions"]) for topic in described if topic["error_code"] == 0}


async def ensure_topics(
    bootstrap: str, specs: list[TopicSpec], *, replication_factor: int = 1, timeout: float = 30.0
) -> list[str]:
    """Create missing topics; fail clearly when an existing one has another partition count.

    Returns the names created.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
    except (TimeoutError, KafkaConnectionError, OSError) as exc:
        raise TopicSetupError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
    try:
        existing = await existing_topics(admin)
        mismatched = [
            f"{spec.name} has {existing[spec.name]} partitions, expected {spec.partitions}"
            for spec in specs
            if spec.name in existing and existing[spec.name] != spec.partitions
        ]
        if mismatched:
            raise TopicSetupError(
                "topics exist with another partition count (co-partitioned topics must match; "
                "change TICKETFLOW_PARTITIONS or recreate them): " + "; ".join(mismatched)
            )
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            response = await admin.create_topics(
                [
                    NewTopic(spec.name, spec.partitions, replication_factor, topic_configs=spec.config or None)
                    for spec in missing
                ]
            )
            failures = [
                f"{name}: error {code} {message or ''}".strip()
                for name, code, *rest in response.topic_errors
                for message in [rest[0] if rest else None]
                if code not in (0, _TOPIC_ALREADY_EXISTS)
            ]
            if failures:
                raise TopicSetupError("could not create topics: " + "; ".join(failures))
            await _wait_visible(admin, {spec.name for spec in missing}, timeout)
        return [spec.name for spec in missing]
    finally:
        await admin.close()


async def _wait_visible(admin: AIOKafkaAdminClient, names: set[str], timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        visible = await existing_topics(admin)
        if names <= set(visible):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TopicSetupError(f"topics not visible after creation: {sorted(names - set(visible))}")
        await asyncio.sleep(0.1)
