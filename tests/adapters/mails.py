"""Real RFC 5322 messages as mail clients write them (built with the standard library)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr

WHEN = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)


def multipart_gbk(
    message_id: str = "<gbk-1@mail.example.cn>", text: str = "订单20261122的蓝牙耳机收到时破损，要求换货。"
) -> bytes:
    """What a Chinese Outlook/Foxmail sends: GBK plain + HTML alternatives, base64, encoded headers."""
    message = MIMEMultipart("alternative")
    message["From"] = formataddr((str(Header("王女士", "gbk")), "wang@example.cn"))
    message["To"] = "support@shop.example"
    message["Subject"] = Header("投诉：商品破损", "gbk")
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(WHEN)
    message.attach(MIMEText(text, "plain", "gbk"))
    message.attach(MIMEText(f"<p>{text}</p>", "html", "gbk"))
    return message.as_bytes()


def multipart_utf8_with_attachment(message_id: str = "<utf8-1@mail.example.com>") -> bytes:
    message = MIMEMultipart("mixed")
    message["From"] = "Ben Wong <ben@example.com>"
    message["To"] = "support@shop.example"
    message["Subject"] = "=?utf-8?q?App_crashes_=E2=80=94_=E6=80=A5?="
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(WHEN)
    body = MIMEText("The app crashes on login since this morning. 急！", "plain", "utf-8")
    message.attach(body)
    attachment = MIMEText("log line 1\nlog line 2", "plain", "utf-8")
    attachment.add_header("Content-Disposition", "attachment", filename="crash.log")
    message.attach(attachment)
    return message.as_bytes()


def eight_bit_gbk() -> bytes:
    """An old client's 8-bit GBK mail (not valid UTF-8 on the wire), labelled GB2312."""
    head = (
        "From: =?GB2312?B?" + __import__("base64").b64encode("李先生".encode("gbk")).decode() + "?= <li@example.cn>\r\n"
        "Subject: =?GB2312?B?" + __import__("base64").b64encode("咨询积分".encode("gbk")).decode() + "?=\r\n"
        "Message-ID: <8bit-1@example.cn>\r\nDate: Sat, 22 Nov 2026 09:30:00 +0800\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return head.encode("ascii") + "请问积分什么时候到账？镕".encode("gbk") + b"\r\n"


def quoted_printable_html_only() -> bytes:
    return (
        b"From: carol@example.org\r\nSubject: Refund\r\nMessage-ID: <qp-1@example.org>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"<html><head><style>p{color:red}</style></head><body><p>I want a =E9=80=80=E6=AC=BE refund</p>"
        b"<script>alert(1)</script><br>order 42</body></html>\r\n"
    )


def reply(
    to_message_id: str,
    *,
    subject: str = "Re: 投诉：商品破损",
    text: str = "照片已补充，请尽快处理",
    references: str | None = None,
    message_id: str = "<reply-1@mail.example.cn>",
) -> bytes:
    message = MIMEText(text, "plain", "utf-8")
    message["From"] = "wang@example.cn"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["In-Reply-To"] = to_message_id
    message["References"] = references or to_message_id
    return message.as_bytes()
