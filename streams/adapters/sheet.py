"""The store front desk / offline request log: the request log template (客户需求登记与跟踪表) as a
CSV or XLSX file with its Chinese headers:

    客户编号, 客户类型, 需求渠道, 需求类型, 问题描述, 提交时间, 首次响应时间, 解决时间,
    处理人, 满意度评分(1-5分), 备注

Each row is one request, published on raw.<channel> where the channel comes from 需求渠道
(电话 → phone, 邮件 → email, 在线客服 → webchat, 门店/前台/线下 or blank → store, …). A row
already answered (首次响应时间) or resolved (解决时间) also yields a `reply` / `resolve` action
at those moments, so the ticket's SLA history is what really happened. The idempotency key is
the row's identity — customer number, submission time and description — not its line number,
so re-importing the same file (even with rows inserted) maps to the same ids and creates
nothing new downstream. A bad row is reported with its line number.

Times without a zone are local time of the store (`TICKETFLOW_SHEET_TIMEZONE`, default
Asia/Shanghai). Both "2024-05-01 14:30" and the seed's run-together "2024-05-0114:30" are read.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from streams import ids
from streams.adapters.base import Intake, Parsed, Refusal, digest_key, invalid
from streams.domain import timestamps
from streams.domain.rejections import Rejection
from streams.models import (
    CHANNELS,
    CustomerRef,
    CustomerTier,
    RawEnvelope,
    RequestSubmission,
    TicketAction,
)

ADAPTER = "sheet-import/v1"
CONTENT_TYPE = "application/vnd.ticketflow.sheet-row+json"

CUSTOMER_NUMBER, CUSTOMER_TYPE, CHANNEL, REQUEST_TYPE, DESCRIPTION = (
    "客户编号",
    "客户类型",
    "需求渠道",
    "需求类型",
    "问题描述",
)
SUBMITTED, FIRST_RESPONSE, RESOLVED, HANDLER, SATISFACTION, REMARKS = (
    "提交时间",
    "首次响应时间",
    "解决时间",
    "处理人",
    "满意度评分",
    "备注",
)
HEADERS = (
    CUSTOMER_NUMBER,
    CUSTOMER_TYPE,
    CHANNEL,
    REQUEST_TYPE,
    DESCRIPTION,
    SUBMITTED,
    FIRST_RESPONSE,
    RESOLVED,
    HANDLER,
    SATISFACTION,
    REMARKS,
)
REQUIRED_HEADERS = (DESCRIPTION, SUBMITTED)
# Bounds on what one file may cost to read (docs/operations.md, "Limits").
MAX_ROWS = 100_000
MAX_COLUMNS = 64
MAX_UNPACKED_BYTES = 64 * 1024 * 1024

_CHANNEL_WORDS: tuple[tuple[str, str], ...] = (
    ("企业微信", "wecom"),
    ("企微", "wecom"),
    ("wecom", "wecom"),
    ("电话", "phone"),
    ("热线", "phone"),
    ("phone", "phone"),
    ("hotline", "phone"),
    ("邮件", "email"),
    ("邮箱", "email"),
    ("email", "email"),
    ("e-mail", "email"),
    ("在线客服", "webchat"),
    ("在线", "webchat"),
    ("网页", "webchat"),
    ("webchat", "webchat"),
    ("chat", "webchat"),
    ("app", "app"),
    ("应用", "app"),
    ("微博", "social"),
    ("抖音", "social"),
    ("小红书", "social"),
    ("社交", "social"),
    ("social", "social"),
    ("客户经理", "vip"),
    ("vip", "vip"),
    ("门店", "store"),
    ("前台", "store"),
    ("线下", "store"),
    ("到店", "store"),
    ("store", "store"),
)
_TIERS: tuple[tuple[str, CustomerTier], ...] = (
    ("vip", "vip"),
    ("高价值", "vip"),
    ("大客户", "vip"),
    ("新", "new"),
    ("流失", "churn_risk"),
    ("沉睡", "churn_risk"),
    ("老", "regular"),
    ("普通", "regular"),
    ("regular", "regular"),
    ("new", "new"),
)
_RUN_TOGETHER = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{2})(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_DATE_TIME = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?$")


class SheetError(ValueError):
    """The file as a whole cannot be read (format, encoding, missing headers)."""


@dataclass(frozen=True)
class SheetRow:
    line: int
    values: dict[str, str]  # canonical header → cell text


def canonical_header(cell: Any) -> str | None:
    text = re.sub(r"[\s\u3000]+", "", str(cell or ""))
    text = re.sub(r"[(（][^)）]*[)）]$", "", text)  # 满意度评分(1-5分) → 满意度评分
    return text if text in HEADERS else None


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _rows(table: Iterator[tuple[int, list[Any]]]) -> Iterator[SheetRow]:
    columns: dict[int, str] | None = None
    for line, cells in table:
        if not any(_cell_text(cell) for cell in cells):
            continue
        if columns is None:
            columns = {index: name for index, cell in enumerate(cells) if (name := canonical_header(cell))}
            missing = [name for name in REQUIRED_HEADERS if name not in columns.values()]
            if missing:
                raise SheetError(
                    f"line {line}: the header row lacks {', '.join(missing)} "
                    f"(expected the columns of the request log: {', '.join(HEADERS)})"
                )
            continue
        values = {name: _cell_text(cells[index]) if index < len(cells) else "" for index, name in columns.items()}
        yield SheetRow(line, values)
    if columns is None:
        raise SheetError("the file has no header row")


def read_csv(data: bytes) -> Iterator[SheetRow]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise SheetError("the CSV file is neither UTF-8 nor GB18030/GBK")
    reader = csv.reader(io.StringIO(text, newline=""))

    def numbered() -> Iterator[tuple[int, list[Any]]]:
        try:
            for cells in reader:
                if reader.line_num > MAX_ROWS:
                    raise SheetError(f"the file has more than {MAX_ROWS} lines; split it")
                yield reader.line_num, cells[:MAX_COLUMNS]
        except csv.Error as exc:
            raise SheetError(f"line {reader.line_num}: {exc}") from None

    return _rows(numbered())


def read_xlsx(data: bytes, sheet: str | None = None) -> Iterator[SheetRow]:
    """Rows of an XLSX workbook, read in streaming mode. The work is bounded whatever the file
    declares: its parts may not unpack to more than MAX_UNPACKED_BYTES, only the first
    MAX_COLUMNS columns and MAX_ROWS rows are read (a cell declared at XFD2000 no longer makes
    the reader pad every row to 16,384 columns), and openpyxl parses its XML with defusedxml."""
    from openpyxl import load_workbook

    _check_archive(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - zipfile, XML and openpyxl errors alike
        raise SheetError(f"not a readable XLSX workbook: {type(exc).__name__}: {exc}") from None
    try:
        worksheet = workbook[sheet] if sheet else workbook.active
    except KeyError:
        raise SheetError(f"the workbook has no sheet {sheet!r} (sheets: {workbook.sheetnames})") from None

    def numbered() -> Iterator[tuple[int, list[Any]]]:
        try:
            cells = worksheet.iter_rows(min_row=1, max_row=MAX_ROWS + 1, max_col=MAX_COLUMNS, values_only=True)
            for number, row in enumerate(cells, start=1):
                if number > MAX_ROWS:
                    raise SheetError(f"the sheet has more than {MAX_ROWS} rows; split the file")
                yield number, list(row)
        except SheetError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken sheet part
            raise SheetError(f"the sheet cannot be read: {type(exc).__name__}: {exc}") from None
        finally:
            workbook.close()

    return _rows(numbered())


def _check_archive(data: bytes) -> None:
    """An XLSX is a zip: refuse one whose parts would unpack to more than MAX_UNPACKED_BYTES."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError) as exc:
        raise SheetError(f"not a readable XLSX workbook: {exc}") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise SheetError(f"the workbook unpacks to {unpacked} bytes; at most {MAX_UNPACKED_BYTES} are read")


def read_sheet(path: Path, sheet: str | None = None) -> list[SheetRow]:
    data = path.read_bytes()
    if path.suffix.lower() in (".xlsx", ".xlsm") or data[:2] == b"PK":
        return list(read_xlsx(data, sheet))
    return list(read_csv(data))


# -- a row → an intake, and back ------------------------------------------------------------------


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def parse_time(text: str, tz: ZoneInfo) -> datetime | None:
    """A sheet's time cell; None when blank; ValueError when unreadable."""
    text = text.strip()
    if not text:
        return None
    moment: datetime | None = None
    if match := _RUN_TOGETHER.match(text):
        year, month, day, hour, minute, second = match.groups()
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
    elif match := _DATE_TIME.match(text):
        year, month, day, hour, minute, second = match.groups()
        moment = datetime.combine(
            date(int(year), int(month), int(day)), time(int(hour or 0), int(minute or 0), int(second or 0))
        )
    else:
        moment = datetime.fromisoformat(text)
    moment = moment.replace(tzinfo=tz) if moment.tzinfo is None else moment
    timestamps.to_utc(moment)  # in the accepted range, or ValueError naming the setting
    return moment


def channel_of(text: str) -> str:
    lowered = text.strip().lower()
    for word, channel in _CHANNEL_WORDS:
        if word in lowered:
            return channel
    return "store"


def tier_of(text: str) -> CustomerTier | None:
    lowered = text.strip().lower()
    for word, tier in _TIERS:
        if word in lowered:
            return tier
    return None


@dataclass(frozen=True)
class RowFacts:
    channel: str
    customer: CustomerRef
    text: str
    subject: str | None
    submitted_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    handler: str
    satisfaction: int | None


def row_facts(values: dict[str, str], tz: ZoneInfo) -> RowFacts | Rejection:
    problems: list[dict[str, Any]] = []

    def problem(field: str, message: str) -> None:
        problems.append({"field": field, "problem": message, "kind": "value_error"})

    text = values.get(DESCRIPTION, "").strip()
    if not text:
        problem(DESCRIPTION, "is empty")
    moments: dict[str, datetime | None] = {}
    for name in (SUBMITTED, FIRST_RESPONSE, RESOLVED):
        try:
            moments[name] = parse_time(values.get(name, ""), tz)
        except (ValueError, OverflowError) as exc:
            moments[name] = None
            detail = str(exc) if "TICKETFLOW_" in str(exc) else "is not a time (e.g. 2024-05-01 14:30)"
            problem(name, f"{values.get(name, '')[:40]!r} {detail}")
    submitted = moments[SUBMITTED]
    if submitted is None and not any(item["field"] == SUBMITTED for item in problems):
        problem(SUBMITTED, "is empty")
    for name in (FIRST_RESPONSE, RESOLVED):
        if submitted and moments[name] and moments[name] < submitted:
            problem(name, f"is before {SUBMITTED}")
    satisfaction = None
    if score := values.get(SATISFACTION, "").strip():
        if score.isdigit() and 1 <= int(score) <= 5:
            satisfaction = int(score)
        else:
            problem(SATISFACTION, f"{score!r} is not a score from 1 to 5")
    if len(text) > 20_000:
        problem(DESCRIPTION, "is longer than 20000 characters")
    number = values.get(CUSTOMER_NUMBER, "").strip()
    if len(number) > 128:
        problem(CUSTOMER_NUMBER, "is longer than 128 characters")
    if problems:
        return Rejection("invalid_row", "; ".join(f"{item['field']}: {item['problem']}" for item in problems), problems)
    assert submitted is not None
    customer = CustomerRef(id=number or None, tier=tier_of(values.get(CUSTOMER_TYPE, "")))
    return RowFacts(
        channel=channel_of(values.get(CHANNEL, "")),
        customer=customer,
        text=text,
        subject=values.get(REQUEST_TYPE, "").strip()[:1_000] or None,
        submitted_at=submitted,
        first_response_at=moments[FIRST_RESPONSE],
        resolved_at=moments[RESOLVED],
        handler=values.get(HANDLER, "").strip()[:128] or "store-desk",
        satisfaction=satisfaction,
    )


def row_key(values: dict[str, str], facts: RowFacts) -> str:
    return digest_key("sheet-row", values.get(CUSTOMER_NUMBER, "").strip(), facts.submitted_at.isoformat(), facts.text)


def row_body(row: SheetRow, file_name: str, timezone_name: str) -> bytes:
    return orjson.dumps({"file": file_name, "line": row.line, "timezone": timezone_name, "row": row.values})


def row_intake(row: SheetRow, *, file_name: str, timezone_name: str, received_at: datetime) -> Intake | Refusal:
    body = row_body(row, file_name, timezone_name)
    facts = row_facts(row.values, zone(timezone_name))
    if isinstance(facts, Rejection):
        return invalid("invalid_row", f"{file_name} line {row.line}: {facts.reason}", body, errors=facts.errors)
    key = row_key(row.values, facts)
    ticket = ids.ticket_id(facts.channel, key)
    actions = []
    if facts.first_response_at is not None:
        actions.append(
            TicketAction(
                action_id=ids.action_id(ticket, "sheet:first-response"),
                ticket_id=ticket,
                type="reply",
                by=facts.handler,
                at=facts.first_response_at,
                channel=facts.channel,
                note="first response (request log)",
            )
        )
    if facts.resolved_at is not None:
        actions.append(
            TicketAction(
                action_id=ids.action_id(ticket, "sheet:resolved"),
                ticket_id=ticket,
                type="resolve",
                by=facts.handler,
                at=facts.resolved_at,
                channel=facts.channel,
                note="resolved (request log)",
            )
        )
    return Intake(
        channel=facts.channel,
        adapter=ADAPTER,
        idempotency_key=key,
        content_type=CONTENT_TYPE,
        body=body.decode("utf-8"),
        received_at=received_at,
        sender=facts.customer,
        actions=tuple(actions),
    )


def parse(envelope: RawEnvelope) -> Parsed | Rejection:
    try:
        document = orjson.loads(envelope.body)
        values = {str(name): str(value) for name, value in document["row"].items()}
        tz = zone(str(document.get("timezone") or "Asia/Shanghai"))
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
        return Rejection("invalid_row", f"not a request log row record: {type(exc).__name__}: {exc}")
    facts = row_facts(values, tz)
    if isinstance(facts, Rejection):
        return facts
    return Parsed(
        RequestSubmission(
            customer=facts.customer, text=facts.text, subject=facts.subject, submitted_at=facts.submitted_at
        )
    )


assert {channel for _, channel in _CHANNEL_WORDS} <= set(CHANNELS)
