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
    text = "我不是要投诉，只是等了很久一直没人处理"
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


def test_asking_for_a_person_raises_urgency_to_high(classifier):
    assert classifier.classify("I want to talk to a human agent").urgency == "high"
    assert classifier.classify("帮我转人工").urgency == "high"
    assert classifier.classify("How do I contact customer service?").urgency == "normal"


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


def test_traditional_request_is_classified_like_its_simplified_form(classifier):
    traditional = classifier.classify("我要投訴，你們門市店員態度非常差")
    simplified = classifier.classify("我要投诉，你们门市店员态度非常差")
    assert (traditional.type, traditional.complaint_grade) == (simplified.type, simplified.complaint_grade)
    assert traditional.type == "complaint"


def test_rule_terms_written_in_traditional_characters_match_simplified_text(rules):
    document = rules.model_dump()
    document["types"]["suggestion"]["terms"] = {"許願池": 5.0}
    custom = Classifier(ClassificationRules.model_validate(document))
    assert custom.classify("许愿池").type == "suggestion"


def test_certain_rules_decide_and_say_so(classifier):
    decision = classifier.decide("我要投诉，你们的客服态度太差")
    assert decision.decided_by == "rules"
    assert any(reason.startswith("decided by rules: complaint") for reason in decision.classification.reasons)


def test_the_model_decides_when_no_rule_is_certain_and_names_its_top_features(classifier):
    decision = classifier.decide("My card was declined at the supermarket even though I have money")
    assert decision.decided_by == "model" and decision.classification.type == "product_issue"
    reason = next(r for r in decision.classification.reasons if r.startswith("decided by model"))
    assert "«declined»" in reason


def test_safety_terms_win_over_the_model(classifier):
    decision = classifier.decide("The space heater sparked and caught fire in the living room")
    assert decision.decided_by == "safety"
    assert (decision.classification.type, decision.classification.complaint_grade) == ("complaint", 1)


def test_unrecognised_card_payment_is_a_grade_one_complaint(classifier):
    result = classifier.classify("There are payments on my card I don't recognise, I think it was stolen")
    assert (result.type, result.complaint_grade, result.urgency) == ("complaint", 1, "urgent")


def test_double_charge_complaint_is_grade_two(classifier):
    result = classifier.classify("I was charged twice for the same order, this is a complaint")
    assert (result.type, result.complaint_grade) == ("complaint", 2)


def test_chinese_sentiment_comes_from_the_model(classifier):
    assert classifier.classify("师傅上门很准时，服务非常专业，特别满意").sentiment == "positive"
    assert classifier.classify("东西质量太差了，用了一次就坏，非常失望").sentiment == "negative"


def test_english_sentiment_comes_from_the_rule_terms(classifier):
    assert classifier.classify("Thank you, the engineer was excellent").sentiment == "positive"
    assert classifier.classify("What are your opening hours?").sentiment == "neutral"


def test_a_complaint_is_negative_even_in_neutral_words(classifier):
    result = classifier.classify("I want to file a complaint about order 1234")
    assert (result.type, result.sentiment) == ("complaint", "negative")


def test_a_plain_question_is_neutral(classifier):
    assert classifier.classify("请问你们周末几点开门？").sentiment == "neutral"


def test_rules_file_without_a_decision_section_uses_the_defaults(rules):
    document = rules.model_dump()
    del document["decision"]
    assert ClassificationRules.model_validate(document).decision.certain_score == 4.0


def test_negative_neutral_band_is_refused(rules):
    document = rules.model_dump()
    document["decision"]["neutral_band"] = {"inquiry": -1}
    with pytest.raises(ValueError, match="neutral band of inquiry"):
        ClassificationRules.model_validate(document)


def test_polarity_never_says_neutral(classifier):
    assert classifier.decide("请问你们周末几点开门？").polarity in ("positive", "negative")


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        ("No need to refund anything, I just wanted to ask about vegan options", "refund"),
        ("不需要退货，想问一下这个鞋怎么清洗", "退货"),
    ],
)
def test_negation_cue_ending_in_a_filler_word_still_negates(classifier, text, negated):
    result = classifier.classify(text)
    assert result.type == "inquiry" and f"negated «{negated}»" in result.reasons


def test_property_loss_term_makes_an_urgent_grade_one_complaint(classifier):
    result = classifier.classify("我的信用卡被盗刷了，请帮我停卡")
    assert (result.type, result.complaint_grade, result.urgency) == ("complaint", 1, "urgent")


def test_an_outage_described_by_its_scope_and_effect_is_urgent(classifier):
    result = classifier.classify("我们所有门店从早上九点开始都无法下单")
    assert result.type == "product_issue" and result.urgency == "urgent"
    assert any(reason.startswith("concept outage:") for reason in result.reasons)


def test_a_scope_word_alone_is_not_an_outage(classifier):
    result = classifier.classify("请问所有门店的营业时间是一样的吗")
    assert result.urgency != "urgent"
    assert not any(reason.startswith("concept outage") for reason in result.reasons)


def test_money_lost_through_the_companys_error_is_a_grade_2_complaint(classifier):
    result = classifier.classify("The hotel gave my room away even though I had paid in full")
    assert (result.type, result.complaint_grade) == ("complaint", 2)


def test_a_concept_naming_a_group_it_does_not_have_is_refused():
    from streams.domain.classification import Concept

    with pytest.raises(ValueError, match="do not exist"):
        Concept.model_validate({"all_of": ["scope"], "cues": {"effect": ["宕机"]}})
    present = Concept.model_validate(
        {
            "all_of": ["scope"],
            "any_of": ["effect", "since"],
            "cues": {"scope": ["全部"], "effect": ["宕机"], "since": ["从早上"]},
        }
    )
    assert present.present({"scope", "since"}) and not present.present({"scope"}) and not present.present({"effect"})


def test_the_grade_layer_weighs_two_against_three_and_never_gives_one_alone(classifier):
    result = classifier.classify("Nobody at the front desk answered the phone for an hour, I want to complain")
    assert (result.complaint_grade, result.urgency) == (3, "high")
    assert any(reason.startswith("grade:3 (grade model") for reason in result.reasons)
    reasons = " ".join(classifier.classify("结账多收了我八十块，店员不肯退，我要投诉").reasons)
    assert "grade model" in reasons or "grade:2" in reasons


def test_the_urgency_layer_can_be_turned_off_in_the_rules(rules):
    from streams.domain.classification import ClassificationRules

    raw = rules.model_dump()
    raw["decision"]["urgent_threshold"] = 1.0
    assert ClassificationRules.model_validate(raw).decision.urgent_threshold == 1.0
    raw["decision"]["urgent_threshold"] = 0
    with pytest.raises(ValueError, match="urgent_threshold"):
        ClassificationRules.model_validate(raw)


def test_a_question_about_cover_if_someone_were_hurt_reports_no_harm(classifier):
    asked = classifier.decide("如果我的手机被偷了，这个保险能赔吗？")
    assert asked.classification.type == "inquiry" and asked.classification.urgency != "urgent"
    assert any("harm set aside" in reason for reason in asked.classification.reasons)
    happened = classifier.classify("我的手机昨天在你们店里被偷了，保险能赔吗？")
    assert (happened.type, happened.complaint_grade, happened.urgency) == ("complaint", 1, "urgent")
