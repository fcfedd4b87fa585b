"""Hostile input at the adapters: every parser's work is bounded and every timestamp checked.

Timings here assert *shape* (linear, not quadratic: doubling the input at most ~triples the
time) and a coarse ceiling that only a runaway parser breaks; the absolute figures are in
`make bench`."""

from __future__ import annotations

import io
import time
import tracemalloc
from datetime import UTC, datetime

import pytest
from openpyxl import Workbook

from streams.adapters import email, sheet, wecom
from streams.adapters.base import HttpInput, Intake, Refusal
from streams.domain.rejections import Rejection
from streams.models import ActionSubmission, RequestSubmission
from tests.adapters import platforms

MAX = 768 * 1024
CRYPTO = wecom.WeComCrypto.create(platforms.WECOM_TOKEN, platforms.WECOM_AES_KEY, platforms.WECOM_CORP_ID)


def html_mail(unit: bytes, size: int) -> bytes:
    return b"From: a@b.cn\r\nSubject: x\r\nContent-Type: text/html\r\n\r\n" + unit * (size // len(unit))


def header_mail(name: str, unit: bytes, size: int) -> bytes:
    return f"From: a@b.cn\r\nSubject: hello\r\n{name}:".encode() + unit * (size // len(unit)) + b"\r\n\r\nbody"


SHAPES = {
    "open tags": lambda size: html_mail(b"<a ", size),
    "breaks": lambda size: html_mail(b"<br>x", size),
    "attributes": lambda size: html_mail(b"<p x=1 y=2>", size),
    "nesting": lambda size: html_mail(b"<div>", size),
    "content-type parameters": lambda size: header_mail("Content-Type", b" a=b;", size),
    "references": lambda size: header_mail("References", b" <a@b>", size),
    "quoted from": lambda size: header_mail("From", b' "a\\', size),
    "encoded subject": lambda size: header_mail("Subject", b" =?utf-8?q?a?=", size),
    "many parts": lambda size: (
        b"From: a@b.cn\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
        + b"--zz\r\nContent-Type: text/html\r\n\r\n<a <a\r\n" * (size // 40)
    ),
}


def _seconds(raw: bytes) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        email.parse_mail(raw)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_crafted_mail_at_the_size_limit_parses_in_linear_time(shape):
    half, full = _seconds(SHAPES[shape](MAX // 2)), _seconds(SHAPES[shape](MAX))
    assert full < 3 * half + 0.02, f"{shape}: {half:.3f}s at {MAX // 2} bytes, {full:.3f}s at {MAX} (not linear)"
    assert full < 2.0, f"{shape}: {full:.3f}s for one mail"  # the stdlib HTMLParser took hours here


def test_html_only_mail_still_becomes_a_request_with_its_subject():
    outcome = email.mail_intake(html_mail(b"<a ", MAX), datetime.now(UTC))
    assert isinstance(outcome, Intake)
    parsed = email.parse(outcome.envelope())
    assert parsed.submission.text == "x"


def test_html_text_keeps_paragraphs_and_drops_scripts():
    assert (
        email.html_to_text(
            "<html><head><title>t</title><style>p{}</style></head><body><p>退货</p>"
            "<script>x()</script>请尽快<br>处理</body></html>"
        )
        == "退货\n请尽快\n处理"
    )


def test_a_date_that_overflows_is_ignored_and_the_mail_taken():
    raw = b"From: a@b.cn\r\nSubject: x\r\nDate: Fri, 31 Dec 9999 23:59:59 -2359\r\n\r\nhello"
    mail = email.parse_mail(raw)
    assert not isinstance(mail, Rejection) and mail.date is None
    assert isinstance(email.mail_intake(raw, datetime.now(UTC)), Intake)


@pytest.mark.parametrize("moment", ["0002-03-04T00:00:00Z", "9999-12-31T23:59:59-23:59", "2999-01-01T00:00:00Z"])
def test_a_submission_time_outside_the_accepted_range_is_refused_naming_the_field(moment):
    with pytest.raises(ValueError, match="submitted_at"):
        RequestSubmission.model_validate({"text": "hi", "submitted_at": moment})


def test_an_action_dated_in_the_future_is_refused():
    with pytest.raises(ValueError, match="at"):
        ActionSubmission.model_validate({"type": "reply", "by": "agent", "at": "2999-01-01T00:00:00Z"})
    late = datetime.now(UTC).replace(microsecond=0).isoformat()
    assert ActionSubmission.model_validate({"type": "reply", "by": "agent", "at": late}).at is not None


def test_a_wecom_create_time_out_of_range_is_kept_as_invalid_naming_the_field():
    message = platforms.wecom_text_message("订单没到", created=999_999_999_999)
    query, body = platforms.wecom_post(message)
    outcome = wecom.accept(HttpInput.of("POST", query, {}, body), CRYPTO)
    assert isinstance(outcome, Refusal) and outcome.publish and outcome.status == 422
    assert "CreateTime" in outcome.rejection.reason and outcome.raw == message


def test_xml_in_utf16_with_entities_is_refused_before_expansion():
    document = (
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "' + "A" * 100 + '">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Content>&b;&b;&b;</Content></xml>'
    )
    result = wecom.parse_xml(document.encode("utf-16"))
    assert isinstance(result, Rejection) and result.error_code == "invalid_xml"


def _xlsx(rows, far_cell: str | None = None) -> bytes:
    workbook = Workbook()
    worksheet = workbook.active
    for row in rows:
        worksheet.append(row)
    if far_cell:
        worksheet[far_cell] = "x"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_workbook_declaring_a_far_cell_is_read_in_bounded_memory():
    data = _xlsx([list(sheet.HEADERS), ["C1", "", "门店", "", "杯子坏了", "2024-05-01 10:00"]], far_cell="XFD2000")
    tracemalloc.start()
    try:
        rows = list(sheet.read_xlsx(data))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [row.values[sheet.DESCRIPTION] for row in rows] == ["杯子坏了"]
    assert peak < 20 * 1024 * 1024, f"{peak} bytes"  # it took 314 MB before the column cap


def test_a_row_dated_year_one_is_a_row_error_and_the_rest_is_read():
    rows = [
        sheet.SheetRow(2, {sheet.DESCRIPTION: "杯子坏了", sheet.SUBMITTED: "0001-01-01 00:00"}),
        sheet.SheetRow(3, {sheet.DESCRIPTION: "杯子坏了", sheet.SUBMITTED: "2024-05-01 10:00"}),
    ]
    outcomes = [
        sheet.row_intake(row, file_name="f.csv", timezone_name="Asia/Shanghai", received_at=datetime.now(UTC))
        for row in rows
    ]
    assert isinstance(outcomes[0], Refusal) and sheet.SUBMITTED in outcomes[0].rejection.reason
    assert "2000-01-01" in outcomes[0].rejection.reason
    assert isinstance(outcomes[1], Intake)
