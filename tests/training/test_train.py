import json

import pytest

from streams.domain.classification import Classifier
from streams.domain.model import TextModel
from streams.training import train as training
from streams.training.datasets import Row, import_training_data


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tests.training.conftest import write_fake_datasets

    root = tmp_path_factory.mktemp("train")
    data_dir = root / "data"
    import_training_data(write_fake_datasets(root, per_template=12), data_dir)
    (data_dir / "train" / "written").mkdir()
    (data_dir / "train" / "written" / "examples.jsonl").write_text(
        "\n".join(
            json.dumps(row, ensure_ascii=False)
            for row in [
                {"text": "我要投诉客服态度", "type": "complaint", "sentiment": "negative"},
                {"text": "客服态度很差我要投诉", "type": "complaint", "sentiment": "negative"},
                {"text": "请问营业时间", "type": "inquiry", "sentiment": "neutral"},
                {"text": "请问会员积分", "type": "inquiry"},
                {"text": "建议增加夜间模式", "type": "suggestion", "sentiment": "positive"},
                {"text": "建议增加自提点", "type": "suggestion"},
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    output = root / "model.json"
    summary = training.train(data_dir, output, log=lambda line: None)
    return data_dir, output, summary


def test_training_writes_an_artefact_the_worker_can_load(trained):
    _, output, summary = trained
    model = TextModel.load(output)
    assert model.version == summary["version"] and set(model.type_classes) >= {"after_sales", "complaint", "inquiry"}


def test_trained_type_model_separates_what_it_was_taught(trained):
    from streams.domain import text

    model = TextModel.load(trained[1])

    def best(sentence: str) -> str:
        probabilities = model.predict_type(text.features(text.normalize(sentence))).probabilities
        return max(probabilities, key=probabilities.get)

    assert best("my card was declined at shop 3") == "product_issue"
    assert best("I want a refund for purchase 7") == "after_sales"


def test_trained_sentiment_model_reads_polarity(trained):
    from streams.domain import text

    model = TextModel.load(trained[1])
    logit = lambda sentence: model.predict_sentiment(text.sentiment_features(text.normalize(sentence))).logit  # noqa: E731
    assert logit("服务非常好") > 0 > logit("服务态度太差了")


def test_version_is_a_digest_of_the_weights_so_retraining_the_same_data_gives_the_same_version(trained, tmp_path):
    data_dir, _, summary = trained
    again = training.train(data_dir, tmp_path / "again.json", log=lambda line: None)
    assert again["version"] == summary["version"]


def test_training_summary_counts_rows_per_source(trained):
    sources = trained[2]["sources"]
    assert sources["type"]["written"] == 6 and sources["sentiment"]["written"] == 3
    assert sources["type"]["banking77"] == 60


def test_sentiment_training_uses_only_positive_and_negative_rows():
    rows = [Row("很好", "positive", "t"), Row("很差", "negative", "t"), Row("请问", "neutral", "t")] * 4
    model = training.train_sentiment_model(rows)
    assert model["rows"] == {"positive": 4, "negative": 4}


def test_classifier_uses_a_freshly_trained_artefact(trained, rules):
    classifier = Classifier(rules, TextModel.load(trained[1]))
    assert classifier.classify("my card was declined at shop 5").model_version.endswith(trained[2]["version"])


def _layer_rows() -> list[Row]:
    complaints = [
        ("客服态度很差，挂我电话", "3"),
        ("店员很凶还翻白眼", "3"),
        ("排队一小时没人理", "3"),
        ("多扣了我两百块", "2"),
        ("押金一直不退", "2"),
        ("账单多收了服务费", "2"),
        ("吃了以后拉肚子进医院", "1"),
        ("孩子被烫伤了", "1"),
        ("药发错了吃了头晕", "1"),
    ]
    return [Row(f"{text} {n}", grade, "written", "") for text, grade in complaints for n in range(4)]


def test_grade_layer_learns_the_three_grades():
    from streams.domain import text

    document = training.train_grade_model(_layer_rows())
    model = TextModel(
        {
            "format": 1,
            "version": "t",
            "type": {"classes": ["inquiry"], "bias": [0], "weights": {}},
            "sentiment": {"bias": 0, "weights": {}},
            "grade": document,
        }
    )
    probabilities = model.predict_grade(text.features(text.normalize("押金不退，多扣了钱")))
    assert set(probabilities) == {"1", "2", "3"} and max(probabilities, key=probabilities.get) == "2"


def test_urgency_layer_learns_urgent_from_other():
    from streams.domain import text

    rows = [Row(f"所有门店都无法下单 {n}", "urgent", "written", "") for n in range(6)]
    rows += [Row(f"请问营业时间 {n}", "other", "written", "") for n in range(6)]
    document = training.train_urgency_model(rows)
    model = TextModel(
        {
            "format": 1,
            "version": "t",
            "type": {"classes": ["inquiry"], "bias": [0], "weights": {}},
            "sentiment": {"bias": 0, "weights": {}},
            "urgent": document,
        }
    )
    urgent = model.predict_urgent(text.features(text.normalize("所有门店都无法下单")))
    assert urgent > 0.5 > model.predict_urgent(text.features(text.normalize("请问营业时间")))


def test_an_artefact_without_the_layers_still_loads_and_predicts_nothing_for_them():
    model = TextModel(
        {
            "format": 1,
            "version": "t",
            "type": {"classes": ["inquiry"], "bias": [0], "weights": {}},
            "sentiment": {"bias": 0, "weights": {}},
        }
    )
    assert model.predict_grade(["w:x"]) is None and model.predict_urgent(["w:x"]) is None
