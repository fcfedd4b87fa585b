import re

import pytest

from bench.week import Week
from streams.report import charts, html, markdown
from streams.report.review import build
from streams.report.targets import load_kpis
from tests.report.conftest import DAYS, FIRST, fold, period


@pytest.fixture(scope="module")
def review(week_records):  # noqa: ANN001, ANN201
    return build(fold(week_records), period(), load_kpis(), generated_at="test")


def test_html_is_self_contained_with_charts_as_paths(review) -> None:  # noqa: ANN001
    document = html.render(review)
    assert document.startswith("<!DOCTYPE html>") and document.endswith("</html>")
    assert "<script" not in document and "<link" not in document and "@import" not in document
    assert not re.search(r'(src|href)="(https?:)?//', document)  # nothing fetched at view time
    assert "url(http" not in document
    assert document.count("<svg") == 5  # daily trends, two Pareto charts, channels, CSAT per type
    assert "<text" not in document  # chart text is drawn as paths: no font needed to read it
    assert "@media print" in document
    for heading in ("目标达成", "帕累托", "每日趋势", "超时工单", "重开工单", "与上期对比"):
        assert heading in document
    ids = re.findall(r'\bid="([^"]+)"', document)
    assert len(ids) == len(set(ids))  # one document, several SVGs: no id is defined twice


def test_markdown_has_the_same_sections_as_tables(review) -> None:  # noqa: ANN001
    document = markdown.render(review)
    assert "<svg" not in document
    assert f"| count: requests | {review.counts['requests']} |" in document
    for heading in ("## 1. ", "## 2. ", "## 3. ", "## 4. ", "## 5. ", "## 6. ", "## 7. ", "## 8. ", "## 9. "):
        assert heading in document
    assert "★ " in document


def test_targets_are_evaluated_against_the_seed_numbers(review) -> None:  # noqa: ANN001
    rows = {row["kpi"]: row for row in review.targets}
    assert rows["resolution_rate"]["met"] == (review.kpis["resolution_rate"] >= 0.9)
    assert rows["csat"]["target"] == 0.92


def test_breached_and_reopened_lists_have_no_contact_data(review) -> None:  # noqa: ANN001
    assert review.breached and review.reopened
    assert review.breached_total >= len(review.breached) and review.reopened_total == len(review.reopened)
    for row in review.breached + review.reopened:
        assert not {"customer_id", "phone", "email", "name"} & set(row)
    late = [row["late_seconds"] for row in review.breached]
    assert late == sorted(late, reverse=True) and all(value >= 0 for value in late)


def test_no_feedback_means_no_satisfaction_and_a_note() -> None:
    records = list(Week(FIRST, DAYS, 40, seed=5, feedback=False).records())
    review = build(fold(records), period(), load_kpis(), generated_at="test")
    assert review.kpis["csat"] is None and review.kpis["nps"] is None
    assert any("no survey answers" in note for note in review.notes)
    assert "CSAT" in html.render(review)
    assert "no survey answers" in markdown.render(review)


def test_a_missing_font_is_a_clear_error(monkeypatch, tmp_path) -> None:  # noqa: ANN001
    monkeypatch.setenv(charts.FONT_ENV, str(tmp_path / "nothing.ttf"))
    with pytest.raises(charts.FontMissing, match="no such font file"):
        charts.find_cjk_font()
    monkeypatch.delenv(charts.FONT_ENV)
    monkeypatch.setattr(charts, "FONT_CANDIDATES", (str(tmp_path / "absent.ttc"),))
    with pytest.raises(charts.FontMissing, match="make install"):
        charts.find_cjk_font()


def test_the_installed_cjk_font_is_found() -> None:
    assert charts.find_cjk_font().is_file()  # make install puts one there (scripts/ensure-report-font.sh)


def test_a_period_partly_covered_by_windows_says_so(week_records) -> None:  # noqa: ANN001
    folder = fold(week_records)
    first_day = min(key[1] for key in folder.windows if key[0] == 0)
    folder.windows = {key: value for key, value in folder.windows.items() if key[1] != first_day}
    review = build(folder, period(), load_kpis(), generated_at="test")
    assert any(f"for {DAYS - 1} of the period's {DAYS} days" in note for note in review.notes)


def test_department_totals_add_up_and_the_worst_come_first(review) -> None:  # noqa: ANN001
    for total in review.compliance_departments:
        rows = [row for row in review.compliance if row["department"] == total["department"]]
        for name in ("received", "responded", "responded_in_time", "resolved", "resolved_in_time", "breached"):
            assert total[name] == sum(row[name] for row in rows)
    worst = review.compliance_worst
    assert worst and len(worst) <= 12
    lowest = [
        min(
            r
            for r, n in (
                (row["first_response_compliance"], row["responded"]),
                (row["resolution_compliance"], row["resolved"]),
            )
            if r is not None and n >= 20
        )
        for row in worst
    ]
    assert lowest == sorted(lowest)
