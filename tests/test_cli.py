import json

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
    assert "5 rows: 3 valid (email 1, phone 1, webchat 1), 5 actions, 2 invalid; dry run, nothing published" in result.output
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
