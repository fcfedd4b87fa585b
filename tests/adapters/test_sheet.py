from datetime import UTC, datetime, timedelta, timezone

import pytest

from streams import ids
from streams.adapters import sheet
from streams.adapters.base import Intake, Refusal
from tests.adapters import sheets

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CST = timezone(timedelta(hours=8))


def intakes(rows):
    return [sheet.row_intake(row, file_name="log.csv", timezone_name="Asia/Shanghai", received_at=NOW) for row in rows]


def test_seed_rows_are_read_with_their_line_numbers_and_channels():
    rows = list(sheet.read_csv(sheets.csv_bytes(sheets.SEED_ROWS + sheets.MORE_ROWS)))
    assert [row.line for row in rows] == [2, 3, 4, 5]
    assert [intake.channel for intake in intakes(rows)] == ["webchat", "phone", "email", "store"]


def test_gbk_csv_as_excel_saves_it_in_china_is_read():
    rows = list(sheet.read_csv(sheets.csv_bytes(sheets.SEED_ROWS, encoding="gbk")))
    assert rows[0].values["问题描述"] == "订单收到商品破损，要求换货"


def test_run_together_seed_times_are_local_store_time():
    first = intakes(sheet.read_csv(sheets.csv_bytes(sheets.SEED_ROWS)))[0]
    parsed = sheet.parse(first.envelope())
    assert parsed.submission.submitted_at == datetime(2024, 5, 1, 14, 30, tzinfo=CST)
    assert parsed.submission.customer.id == "C202405001" and parsed.submission.customer.tier == "vip"
    assert parsed.submission.subject == "售后"


def test_answered_and_resolved_rows_carry_the_actions_at_their_moments():
    first, _, third = intakes(sheet.read_csv(sheets.csv_bytes(sheets.SEED_ROWS)))
    assert [(a.type, a.at) for a in first.actions] == [
        ("reply", datetime(2024, 5, 1, 14, 38, tzinfo=CST)),
        ("resolve", datetime(2024, 5, 2, 10, 0, tzinfo=CST)),
    ]
    assert [a.type for a in third.actions] == ["reply"]
    assert all(a.ticket_id == first.ticket_id and a.by == "客服*某" for a in first.actions)


def test_bad_rows_are_refused_with_their_line_number_and_the_field():
    rows = list(sheet.read_csv(sheets.csv_bytes(sheets.SEED_ROWS + sheets.BAD_ROWS)))
    refused = [outcome for outcome in intakes(rows) if isinstance(outcome, Refusal)]
    assert [r.rejection.reason.split(":")[0] for r in refused] == ["log.csv line 5", "log.csv line 6"]
    assert "问题描述" in refused[0].rejection.reason
    assert "提交时间" in refused[1].rejection.reason and "满意度评分" in refused[1].rejection.reason
    assert all(r.publish and r.error_code == "invalid_row" for r in refused)


def test_row_identity_does_not_depend_on_the_line_so_reimporting_changes_nothing():
    before = intakes(sheet.read_csv(sheets.csv_bytes(sheets.SEED_ROWS)))
    after = intakes(sheet.read_csv(sheets.csv_bytes(sheets.MORE_ROWS + sheets.SEED_ROWS)))[1:]
    assert [i.ticket_id for i in before] == [i.ticket_id for i in after]
    assert [[a.action_id for a in i.actions] for i in before] == [[a.action_id for a in i.actions] for i in after]


def test_xlsx_round_trip_gives_the_same_requests_as_the_csv(tmp_path):
    path = sheets.write_xlsx(tmp_path / "log.xlsx", sheets.SEED_ROWS)
    from_xlsx = intakes(sheet.read_sheet(path))
    from_csv = intakes(sheet.read_csv(sheets.csv_bytes(sheets.SEED_ROWS)))
    assert all(isinstance(intake, Intake) for intake in from_xlsx)
    assert [i.ticket_id for i in from_xlsx] == [i.ticket_id for i in from_csv]
    assert [sheet.parse(i.envelope()).submission for i in from_xlsx] == [
        sheet.parse(i.envelope()).submission for i in from_csv
    ]


def test_file_without_the_request_log_headers_is_refused_as_a_whole():
    with pytest.raises(sheet.SheetError, match="问题描述"):
        list(sheet.read_csv(b"name,phone\nA,1\n"))


def test_not_a_workbook_is_a_clear_error(tmp_path):
    path = tmp_path / "log.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(sheet.SheetError, match="XLSX"):
        sheet.read_sheet(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-0114:30", datetime(2024, 5, 1, 14, 30)),
        ("2024/5/1 9:05", datetime(2024, 5, 1, 9, 5)),
        ("2024-05-01T14:30:10", datetime(2024, 5, 1, 14, 30, 10)),
        ("2024年5月1日 14:30", datetime(2024, 5, 1, 14, 30)),
    ],
)
def test_time_cells_in_the_formats_offices_write(text, expected):
    assert sheet.parse_time(text, sheet.zone("Asia/Shanghai")) == expected.replace(tzinfo=sheet.zone("Asia/Shanghai"))


def test_ids_follow_the_row_channel():
    (intake,) = intakes(sheet.read_csv(sheets.csv_bytes(sheets.MORE_ROWS)))
    assert intake.request_id == ids.request_id("store", intake.idempotency_key)
