import pytest

from streams.domain.config_files import ConfigFileError, bundled_file, load_yaml_model
from streams.domain.policies import PolicyFile


def test_first_matching_policy_wins(policies):
    assert policies.select({"type": "complaint", "complaint_grade": 1, "urgency": "urgent"}).name == "complaint-grade-1"
    assert policies.select({"type": "complaint", "complaint_grade": 3}).name == "complaint-grade-3"


def test_seed_targets_are_encoded(policies):
    grade_one = policies.by_name("complaint-grade-1").targets
    assert (grade_one.first_response, grade_one.resolution) == (3600, 24 * 3600)
    assert policies.by_name("app-feedback").targets.first_response == 30 * 60


def test_catch_all_applies_to_anything_else(policies):
    assert policies.select({"type": "inquiry", "urgency": "normal", "channel": "phone"}).name == "routine"


def test_policy_without_catch_all_is_refused(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("policies:\n  - name: only\n    match: {urgency: urgent}\n    targets: {resolution: 1h}\n")
    with pytest.raises(ConfigFileError, match="must match every ticket"):
        load_yaml_model(path, PolicyFile)


def test_bad_duration_names_the_policy_path(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("policies:\n  - name: all\n    targets: {resolution: soonish}\n")
    with pytest.raises(ConfigFileError) as error:
        load_yaml_model(path, PolicyFile)
    assert "policies.0.targets.resolution" in str(error.value) and "soonish" in str(error.value)


def test_warning_points_must_be_fractions(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("warn_at: [75]\npolicies:\n  - name: all\n    targets: {resolution: 1h}\n")
    with pytest.raises(ConfigFileError, match="fraction"):
        load_yaml_model(path, PolicyFile)


def test_invalid_yaml_reports_the_line(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("policies:\n  - name: [unclosed\n")
    with pytest.raises(ConfigFileError, match="line"):
        load_yaml_model(path, PolicyFile)


@pytest.mark.parametrize("name", ["policies.yaml", "policies-seed004.yaml", "policies-demo.yaml"])
def test_shipped_policy_files_are_valid(name):
    assert load_yaml_model(bundled_file(name), PolicyFile).policies
