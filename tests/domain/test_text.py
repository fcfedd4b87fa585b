from streams.domain import text


def test_traditional_chinese_is_converted_to_simplified():
    assert text.normalize("我要投訴，客服態度太差") == "我要投诉,客服态度太差"


def test_full_width_letters_digits_and_punctuation_become_ascii_lower_case():
    assert text.normalize("ＡＰＰ闪退！１２３") == "app闪退!123"


def test_chinese_is_segmented_into_words():
    assert text.tokens(text.normalize("我要投诉客服态度")) == ["我要", "投诉", "客服", "态度"]


def test_english_words_keep_their_apostrophe():
    assert text.tokens("i can't log in") == ["i", "can't", "log", "in"]


def test_short_numbers_and_long_ids_become_placeholders():
    assert text.tokens("order 20241108 costs 99") == ["order", "<id>", "costs", "<num>"]


def test_mixed_text_has_both_languages_and_a_mixed_marker():
    features = text.features(text.normalize("我的dashboard一直loading"))
    assert {"lang:mixed", "w:dashboard", "w:loading", "w:一直", "b:dashboard 一直"} <= set(features)


def test_features_include_chinese_character_bigrams():
    assert "c:闪退" in text.features(text.normalize("APP闪退"))


def test_features_are_distinct():
    features = text.features(text.normalize("退款 退款 退款"))
    assert len(features) == len(set(features))


def test_sentiment_features_read_only_chinese():
    assert text.sentiment_features(text.normalize("terrible service")) == []
    assert "c1:差" in text.sentiment_features(text.normalize("服务太差 terrible"))
