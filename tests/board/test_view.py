"""Today's compliance and the merge of the workers' per-partition reports (docs/board.md)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from streams.board import view

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 8, 1, 30, tzinfo=SHANGHAI).timestamp()  # 01:30 local, still 7 Dec in UTC


def group(department, priority, *, open=1, at_risk=0, overdue=0, waiting=0, oldest=None):  # noqa: A002
    return {
        "department": department,
        "priority": priority,
        "open": open,
        "waiting_on_customer": waiting,
        "at_risk": at_risk,
        "overdue": overdue,
        "oldest_waiting": oldest,
    }


def compliance(department, priority, **counts):
    row = {"department": department, "priority": priority, **dict.fromkeys(view.COMPLIANCE_COUNTS, 0)}
    return {**row, **counts}


def report(tickets, windows, count=4):
    return view.report(
        tickets=tickets, windows=windows, partition_count=count, day="2026-12-08", timezone_name="Asia/Shanghai"
    )


def test_today_starts_at_local_midnight_of_the_reporting_zone():
    assert view.local_day(NOW, SHANGHAI) == "2026-12-08"
    assert view.day_start(NOW, SHANGHAI) == datetime(2026, 12, 8, tzinfo=SHANGHAI).timestamp()


def test_compliance_rows_sum_channels_and_every_breached_metric():
    rows = view.compliance_rows(
        [
            (
                "after_sales",
                "high",
                {
                    "received": 3,
                    "responded": 2,
                    "responded_in_time": 1,
                    "resolved": 1,
                    "resolved_in_time": 1,
                    "breached": {"first_response": 1},
                },
            ),
            (
                "after_sales",
                "high",
                {
                    "received": 1,
                    "responded": 1,
                    "responded_in_time": 1,
                    "resolved": 0,
                    "resolved_in_time": 0,
                    "breached": {"resolution": 2},
                },
            ),
        ]
    )
    assert rows == [
        compliance(
            "after_sales",
            "high",
            received=4,
            responded=3,
            responded_in_time=2,
            resolved=1,
            resolved_in_time=1,
            breached=3,
        )
    ]


def test_reports_of_two_workers_merge_into_one_board_counting_each_partition_once():
    first = report(
        {
            0: {
                "groups": [group("product", "low", open=2, oldest={"ticket_id": "T-b", "since": NOW - 600})],
                "overdue_tickets": [],
            },
            1: {
                "groups": [
                    group(
                        "product",
                        "urgent",
                        open=3,
                        at_risk=1,
                        overdue=1,
                        oldest={"ticket_id": "T-c", "since": NOW - 60},
                    )
                ],
                "overdue_tickets": [
                    {"ticket_id": "T-c", "department": "product", "priority": "urgent", "overdue_since": NOW - 30}
                ],
            },
        },
        {0: [compliance("product", "urgent", responded=4, responded_in_time=3)], 1: []},
    )
    second = report(
        {
            2: {
                "groups": [group("product", "low", open=1, waiting=1, oldest={"ticket_id": "T-a", "since": NOW - 900})],
                "overdue_tickets": [
                    {"ticket_id": "T-d", "department": "product", "priority": "low", "overdue_since": NOW - 90}
                ],
            },
            1: {"groups": [group("product", "urgent", open=99)], "overdue_tickets": []},
        },  # a stale copy of partition 1
        {2: [compliance("product", "urgent", responded=1, responded_in_time=1, breached=1)]},
    )
    board = view.merge([first, second], NOW)
    assert [(g["priority"], g["open"], g["at_risk"], g["overdue"]) for g in board["groups"]] == [
        ("urgent", 3, 1, 1),
        ("low", 3, 0, 0),
    ]
    low = board["groups"][1]
    assert low["oldest_waiting"] == {"ticket_id": "T-a", "since": view.iso(NOW - 900), "age_seconds": 900.0}
    assert board["totals"]["open"] == 6 and board["totals"]["overdue"] == 1
    assert board["totals"]["oldest_waiting"]["ticket_id"] == "T-a"
    assert [t["ticket_id"] for t in board["overdue_tickets"]] == ["T-d", "T-c"]
    assert board["overdue_tickets"][0]["overdue_seconds"] == 90.0
    (row,) = board["compliance"]["rows"]
    assert row["first_response_compliance"] == 0.8 and row["breached"] == 1 and row["resolution_compliance"] is None
    assert board["coverage"]["missing_ticket_partitions"] == [3]
    assert board["coverage"]["missing_window_partitions"] == [3]
    assert board["coverage"]["reported_twice"] == [1] and board["coverage"]["complete"] is False


def test_a_board_with_every_partition_reported_once_is_complete_and_an_empty_one_has_no_figures():
    full = report({p: {"groups": [], "overdue_tickets": []} for p in range(2)}, {p: [] for p in range(2)}, count=2)
    assert view.merge([full], NOW)["coverage"]["complete"] is True
    empty = view.merge([], NOW)
    assert empty["totals"]["open"] == 0 and empty["groups"] == [] and empty["coverage"]["complete"] is False
    assert empty["compliance"]["totals"]["first_response_compliance"] is None


def test_only_so_many_overdue_tickets_are_listed_longest_first():
    tickets = {
        0: {
            "groups": [group("ops", "normal", open=30, overdue=30)],
            "overdue_tickets": [
                {"ticket_id": f"T{n:02d}", "department": "ops", "priority": "normal", "overdue_since": NOW - n}
                for n in range(30)
            ],
        }
    }
    board = view.merge([report(tickets, {0: []}, count=1)], NOW, overdue_shown=5)
    assert [t["ticket_id"] for t in board["overdue_tickets"]] == ["T29", "T28", "T27", "T26", "T25"]
