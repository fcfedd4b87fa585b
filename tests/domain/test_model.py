import json
import math

import pytest

from streams.domain.model import ModelArtefactError, TextModel


def small_document(**changes):
    document = {
        "format": 1,
        "version": "model-test",
        "type": {
            "classes": ["inquiry", "after_sales"],
            "bias": [0.5, 0.0],
            "weights": {"w:退款": [-1.0, 3.0], "w:请问": [2.0, 0.0]},
        },
        "sentiment": {"classes": ["negative", "positive"], "bias": 0.25, "weights": {"w:差": -2.0, "w:好": 1.0}},
    }
    document.update(changes)
    return document


def test_type_score_is_bias_plus_weights_scaled_by_feature_count():
    model = TextModel(small_document())
    prediction = model.predict_type(["w:退款", "w:unknown", "lang:zh", "w:other"])  # 4 features, 1 known
    after_sales, inquiry = 0.0 + 3.0 / 2, 0.5 - 1.0 / 2
    expected = math.exp(after_sales) / (math.exp(after_sales) + math.exp(inquiry))
    assert prediction.probabilities["after_sales"] == pytest.approx(expected)


def test_probabilities_without_known_features_follow_the_bias():
    prediction = TextModel(small_document()).predict_type(["w:nothing"])
    assert prediction.probabilities["inquiry"] > prediction.probabilities["after_sales"]


def test_evidence_names_the_features_that_pushed_towards_a_type():
    prediction = TextModel(small_document()).predict_type(["w:退款", "w:请问"])
    assert [name for name, _ in prediction.evidence("after_sales")] == ["退款"]
    assert [name for name, _ in prediction.evidence("inquiry")] == ["请问"]


def test_sentiment_logit_adds_weights_to_the_bias():
    prediction = TextModel(small_document()).predict_sentiment(["w:差", "w:好", "w:x", "w:y"])
    assert prediction.logit == pytest.approx(0.25 + (-2.0 + 1.0) / 2)
    assert prediction.top_features[0][0] == "差"


def test_missing_artefact_says_how_to_build_it(tmp_path):
    with pytest.raises(ModelArtefactError, match="make model"):
        TextModel.load(tmp_path / "missing.json")


def test_artefact_of_another_format_is_refused(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(small_document(format=99)), encoding="utf-8")
    with pytest.raises(ModelArtefactError, match="format 99"):
        TextModel.load(path)


def test_shipped_artefact_loads_with_all_six_types(text_model):
    assert text_model.type_classes == (
        "inquiry",
        "after_sales",
        "product_issue",
        "service_request",
        "complaint",
        "suggestion",
    )
    assert text_model.version.startswith("model-")
