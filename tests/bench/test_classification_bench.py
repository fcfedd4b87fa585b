from bench import classification


def test_bench_classifies_the_test_set_and_the_demo_templates():
    texts = classification.bench_texts()
    assert len(texts) > 300 and not any("{" in text for text in texts)


def test_bench_reports_percentiles_in_order_and_a_rate():
    cost = classification.measure(rounds=1)
    assert cost.requests == len(classification.bench_texts())
    assert 0 < cost.p50_us <= cost.p99_us <= cost.max_us and cost.requests_per_second > 0
    assert "requests/s" in classification.render(cost)
