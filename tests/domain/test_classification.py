import pytest

from streams.domain.classification import ClassificationRules, Classifier
from streams.domain.config_files import ConfigFileError, load_yaml_model


@pytest.mark.parametrize(
    ("text", "expected_type"),
    [
        ("我要投诉！你们客服态度太差了", "complaint"),
        ("I want to file a complaint, your agent was rude", "complaint"),
        ("订单收到时外包装破损，申请换货", "after_sales"),
        ("My parcel arrived damaged, I'd like a replacement", "after_sales"),
        ("APP一直闪退，无法登录", "product_issue"),
        ("The app crashes every time I open it", "product_issue"),
        ("订单还没发货，我想修改地址", "service_request"),
        ("Please cancel my subscription", "service_request"),
        ("请问会员权益有哪些？", "inquiry"),
        ("What is your return policy for opened items?", "inquiry"),
        ("建议APP增加一个夜间模式", "suggestion"),
        ("Feature request: please add Apple Pay", "suggestion"),
    ],
)
def test_bilingual_types(classifier, text, expected_type):
    assert classifier.classify(text).type == expected_type


def test_reasons_name_the_terms_that_decided(classifier):
    result = classifier.classify("我要投诉，态度太差")
    assert any("投诉" in reason for reason in result.reasons)


def test_negated_complaint_is_not_a_complaint(classifier):
    result = classifier.classify("我不是投诉，只是想问一下积分什么时候到账？")
    assert result.type == "inquiry"
    assert any(reason.startswith("negated") for reason in result.reasons)


def test_english_negation_this_is_not_a_complaint(classifier):
    assert classifier.classify("This is not a complaint, just a question about my points").type == "inquiry"


def test_negated_type_is_ruled_out_even_when_the_model_favours_it(classifier):
    text = "我不是要投诉，只是快递一直没更新"
    assert classifier.decide(text).type_probabilities["complaint"] > 0.2
    result = classifier.classify(text)
    assert result.type != "complaint" and any("ruled out by negation: complaint" in r for r in result.reasons)


def test_cannot_is_not_read_as_a_negation(classifier):
    result = classifier.classify("I cannot log in, the app crashes")
    assert result.type == "product_issue"


def test_safety_terms_force_an_urgent_grade_one_complaint(classifier):
    result = classifier.classify("买的充电宝充电时冒烟起火了")
    assert (result.type, result.complaint_grade, result.urgency) == ("complaint", 1, "urgent")
    assert "safety" in result.aspects


def test_economic_loss_complaint_is_grade_two(classifier):
    assert classifier.classify("投诉：订单重复扣费99元").complaint_grade == 2


def test_attitude_complaint_is_grade_three_about_service(classifier):
    result = classifier.classify("投诉你们店员态度敷衍")
    assert result.complaint_grade == 3 and "service" in result.aspects


def test_grade_is_only_given_to_complaints(classifier):
    assert classifier.classify("请问会员权益有哪些？").complaint_grade is None


def test_urgency_terms_raise_the_type_default(classifier):
    assert classifier.classify("请问营业时间？").urgency == "normal"
    assert classifier.classify("紧急！请问营业时间？").urgency == "urgent"


def test_low_urgency_terms_lower_only_normal_requests(classifier):
    assert classifier.classify("请问积分怎么兑换？不急").urgency == "low"
    assert classifier.classify("APP闪退了，不急").urgency == "high"


def test_angry_customer_is_flagged_negative_and_raised(classifier):
    result = classifier.classify("请问积分什么时候到账？气死我了，受够了！")
    assert result.angry and result.sentiment == "negative" and result.urgency == "high"


def test_vip_segment_raises_normal_urgency(classifier):
    assert classifier.classify("请问会员权益有哪些？", segment="vip").urgency == "high"


def test_text_without_any_rule_gets_low_confidence_from_the_rules_alone(rules_only):
    result = rules_only.classify("hello")
    assert result.confidence < 0.5 and "no type rule matched" in result.reasons[-1]


def test_text_the_model_cannot_place_gets_low_confidence(classifier):
    assert classifier.classify("hello").confidence < 0.55


def test_clear_margin_gives_high_confidence(classifier):
    assert classifier.classify("我要投诉！客服态度太差").confidence > 0.8


def test_model_version_names_the_rules_and_the_trained_weights(classifier, text_model):
    assert classifier.classify("hi").model_version == f"{classifier.rules.version}+{text_model.version}"


def test_rules_only_classifier_records_the_rules_version(rules_only):
    assert rules_only.classify("hi").model_version == rules_only.rules.version


def test_english_terms_match_whole_words_only(rules_only):
    # "error" must not match inside "terror": no product_issue term, so the default type.
    result = rules_only.classify("the terror movie")
    assert result.type == rules_only.rules.default_type and not any("error" in r for r in result.reasons)


def test_rules_file_errors_name_the_path(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("version: x\ntypes: {complaint: {terms: {投诉: -1}}}\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as error:
        load_yaml_model(path, ClassificationRules)
    assert str(path) in str(error.value) and "types.complaint.terms" in str(error.value)


def test_unknown_type_in_rules_is_refused(tmp_path, classifier):
    document = classifier.rules.model_dump()
    document["types"]["refund"] = {"terms": {"refund": 1.0}}
    with pytest.raises(ValueError, match="unknown request type"):
        ClassificationRules.model_validate(document)


def test_numeric_terms_in_yaml_are_read_as_text(classifier):
    assert "12315" in classifier.rules.types["complaint"].terms


def test_classifier_built_from_custom_rules_uses_them(classifier):
    document = classifier.rules.model_dump()
    document["types"]["suggestion"]["terms"]["wishlist"] = 5.0
    custom = Classifier(ClassificationRules.model_validate(document))
    assert custom.classify("wishlist").type == "suggestion"
