from pathlib import Path

import pytest

from streams.domain.config_files import ConfigFileError, bundled_file
from streams.report.targets import KPIS, Target, load_kpis


@pytest.mark.parametrize("name", ["kpis.yaml", "kpis-seed002.yaml", "kpis-seed004.yaml"])
def test_bundled_kpi_files_load(name: str) -> None:
    kpis = load_kpis(bundled_file(name))
    assert kpis.targets
    for target in kpis.targets:
        assert target.kpi in KPIS
        assert target.source


def test_default_file_has_seed_000_numbers() -> None:
    kpis = {t.kpi: t for t in load_kpis().targets if not t.channel and not t.type}
    assert kpis["first_response_mean"].bound == ("at_most", 7200.0)
    assert kpis["resolution_rate"].bound == ("at_least", 0.90)
    assert kpis["csat"].bound == ("at_least", 0.92)
    assert kpis["repeat_complaint_rate"].bound == ("below", 0.05)


def test_bounds_and_units() -> None:
    assert Target(kpi="csat", at_least="92%").met(0.92) is True
    assert Target(kpi="csat", at_least="92%").met(0.919) is False
    assert Target(kpi="repeat_complaint_rate", below=0.05).met(0.05) is False
    assert Target(kpi="first_response_mean", at_most="2h").met(7200) is True
    assert Target(kpi="nps", at_least=30).met(None) is None
    assert Target(kpi="first_response_mean", channel="webchat", at_most="8m").scope == "webchat"


@pytest.mark.parametrize(
    "document, message",
    [
        ("name: x\ntargets:\n  - {kpi: csat, at_least: 90%, at_most: 99%}\n", "exactly one of"),
        ("name: x\ntargets:\n  - {kpi: happiness, at_least: 90%}\n", "targets.0.kpi"),
        ("name: x\ntargets:\n  - {kpi: csat, at_least: 92}\n", "above 1"),
        ("name: x\ntargets:\n  - {kpi: first_response_mean, at_most: soon}\n", "not a duration"),
        ("name: x\ntargets:\n  - {kpi: complaint_rate, type: complaint, at_most: 5%}\n", "cannot be restricted"),
        ("name: x\ntargets:\n  - {kpi: csat, at_least: 90%}\n  - {kpi: csat, at_least: 80%}\n", "two targets"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, document: str, message: str) -> None:
    path = tmp_path / "kpis.yaml"
    path.write_text(document)
    with pytest.raises(ConfigFileError, match=message):
        load_kpis(path)
