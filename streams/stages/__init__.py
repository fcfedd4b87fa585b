"""The worker's stages between bytes on a topic and bytes to send, without faust.

Each stage decodes a record, calls the pure domain functions, counts what happened and
returns `Output`s; the agent of the same name in streams/agents/ feeds records in and sends
what comes out. A record a stage cannot handle — malformed, or a bug — becomes a record on
`requests.invalid` carrying the reason and the original bytes; it never stops the stage
(docs/architecture.md).
"""
