"""Senders as the platforms build their payloads, written from the protocols' documentation
independently of streams/adapters (so a mistake there cannot cancel out here)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# The WeChat Work documentation's sample configuration and its known-answer vectors.
WECOM_TOKEN = "QDG6eK"
WECOM_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
WECOM_CORP_ID = "wx5823bf96d3bd56c7"
KNOWN_VERIFY = {
    "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    "timestamp": "1409659589",
    "nonce": "263014780",
    "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
}
KNOWN_MESSAGE_QUERY = {
    "msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6",
    "timestamp": "1409659813",
    "nonce": "1372623149",
}
KNOWN_MESSAGE_BODY = (
    b"<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo"
    b"+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42"
    b"aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4"
    b"LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6"
    b"BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt>"
    b"<AgentID><![CDATA[218]]></AgentID></xml>"
)


def wecom_encrypt(message: bytes, *, aes_key: str = WECOM_AES_KEY, corp_id: str = WECOM_CORP_ID) -> str:
    key = base64.b64decode(aes_key + "=")
    plain = os.urandom(16) + struct.pack(">I", len(message)) + message + corp_id.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def wecom_signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


def wecom_text_message(
    content: str,
    *,
    sender: str = "zhangsan",
    msg_id: str = "7001",
    created: int | None = None,
    msg_type: str = "text",
    extra: str = "",
) -> bytes:
    created = created or int(time.time())
    body = f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>" if msg_type == "text" else extra
    return (
        f"<xml><ToUserName><![CDATA[{WECOM_CORP_ID}]]></ToUserName><FromUserName><![CDATA[{sender}]]>"
        f"</FromUserName><CreateTime>{created}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{body}"
        f"<AgentID>1000002</AgentID></xml>"
    ).encode()


def wecom_post(
    message: bytes, *, token: str = WECOM_TOKEN, aes_key: str = WECOM_AES_KEY, corp_id: str = WECOM_CORP_ID
) -> tuple[dict[str, str], bytes]:
    """(query, body) of the platform's POST for a message."""
    encrypted = wecom_encrypt(message, aes_key=aes_key, corp_id=corp_id)
    timestamp, nonce = str(int(time.time())), str(int.from_bytes(os.urandom(4), "big"))
    query = {
        "msg_signature": wecom_signature(token, timestamp, nonce, encrypted),
        "timestamp": timestamp,
        "nonce": nonce,
    }
    body = (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        "<AgentID><![CDATA[1000002]]></AgentID></xml>"
    ).encode()
    return query, body


def signed_headers(secret: bytes, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The webhook headers a channel's sender computes: HMAC-SHA256 over "<timestamp>.<body>"."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {
        "X-Ticketflow-Timestamp": stamp,
        "X-Ticketflow-Signature": f"sha256={digest}",
        "Content-Type": "application/json",
    }
