"""`classify`, `train`, `import-data`, `eval` (docs/classification.md, docs/training.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from streams.cli.common import (
    load_settings,
    policy_option,
    routing_option,
)


@click.command()
@routing_option
@policy_option
def classify(routing_file: Path | None, policy_file: Path | None) -> None:
    """Classify request texts from stdin: one per line, or JSON lines with text, channel, customer."""
    from streams.domain.routing import route

    settings = load_settings(routing_file=routing_file, policy_file=policy_file)
    classifier, routing, policies = settings.classifier, settings.routing, settings.policies
    for number, line in enumerate(sys.stdin, start=1):
        line = line.strip()
        if not line:
            continue
        channel, tier, subject = None, None, None
        text = line
        if line.startswith("{"):
            try:
                document = json.loads(line)
                text = str(document["text"])
            except (ValueError, KeyError, TypeError) as exc:
                click.echo(json.dumps({"line": number, "error": f"not a JSON object with 'text': {exc}"}))
                continue
            channel = document.get("channel")
            subject = document.get("subject")
            customer = document.get("customer") or {}
            tier = customer.get("tier") if isinstance(customer, dict) else None
        result = classifier.classify(text, subject, segment=tier)
        facts = {
            "channel": channel,
            "type": result.type,
            "urgency": result.urgency,
            "complaint_grade": result.complaint_grade,
            "tier": result.segment,
            "aspects": result.aspects,
        }
        decision = route(routing, facts, result.confidence)
        policy = policies.select({**facts, "department": decision.department})
        click.echo(
            json.dumps(
                {
                    "text": text,
                    "type": result.type,
                    "urgency": result.urgency,
                    "complaint_grade": result.complaint_grade,
                    "sentiment": result.sentiment,
                    "angry": result.angry,
                    "aspects": result.aspects,
                    "department": decision.department,
                    "cc": list(decision.cc),
                    "policy": policy.name,
                    "confidence": result.confidence,
                    "reasons": result.reasons + decision.reasons,
                    "model_version": result.model_version,
                },
                ensure_ascii=False,
            )
        )


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder with train/ (default: the repository's data/).",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Where to write the artefact (default: the one the worker loads).",
)
def train(data_dir: Path | None, output: Path | None) -> None:
    """Train the classification model from data/train/ and write the artefact the worker loads."""
    from streams.domain.model import default_artefact_path
    from streams.training.datasets import HeldOutRowError, default_data_dir
    from streams.training.train import train as run_training

    try:
        run_training(data_dir or default_data_dir(), output or default_artefact_path(), log=click.echo)
    except (HeldOutRowError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None


datasets_option = click.option(
    "--datasets",
    "datasets_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The public data sets (default: ../shared/datasets).",
)


@click.command(name="import-data")
@datasets_option
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where train/ is written (default: the repository's data/).",
)
def import_data(datasets_dir: Path | None, data_dir: Path | None) -> None:
    """Copy the development rows of the public data sets into data/train/ (held-out rows never)."""
    from streams.training.datasets import (
        default_data_dir,
        default_datasets_dir,
        import_training_data,
    )

    counts = import_training_data(datasets_dir or default_datasets_dir(), data_dir or default_data_dir())
    click.echo("copied " + ", ".join(f"{name} {count} rows" for name, count in counts.items()))


@click.command(name="eval")
@datasets_option
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder with testset/ (default: the repository's data/).",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("eval-results/eval.json"),
    show_default=True,
    help="JSON report.",
)
@click.option("--sample", type=int, default=None, help="Evaluate an even sample of N rows per data set.")
@click.option("--misses", is_flag=True, help="Also print the test-set requests classified wrongly.")
@routing_option
def evaluate_command(
    datasets_dir: Path | None,
    data_dir: Path | None,
    output: Path,
    sample: int | None,
    misses: bool,
    routing_file: Path | None,
) -> None:
    """Accuracy, macro-F1 and confusion matrices on every evaluation split and the test set."""
    from streams.training.datasets import default_data_dir, default_datasets_dir
    from streams.training.evaluate import as_json, evaluate, render_table

    settings = load_settings(routing_file=routing_file)
    classifier = settings.classifier
    datasets_dir = datasets_dir or default_datasets_dir()
    if not datasets_dir.is_dir():
        raise click.ClickException(f"{datasets_dir}: no such folder (set --datasets)")
    results = evaluate(
        classifier,
        settings.routing,
        datasets_dir=datasets_dir,
        data_dir=data_dir or default_data_dir(),
        sample=sample,
        log=lambda line: click.echo(line, err=True),
    )
    click.echo(render_table(results, classifier.version))
    document = as_json(results, classifier.version)
    if misses:
        development = next(item for item in document["datasets"] if item["name"] == "testset")
        for miss in development["misses"]:  # the held-out set's are never listed
            click.echo(json.dumps(miss, ensure_ascii=False))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    click.echo(f"\nwritten to {output}")
