import pytest
from pydantic import ValidationError

from streams.settings import Settings, describe_settings_error
from streams.supervisor import settings_environment


def test_defaults_follow_the_contract():
    settings = Settings()
    assert (settings.gateway_port, settings.worker_port, settings.broker_url) == (8080, 6066, None)


def test_environment_variables_are_read(monkeypatch):
    monkeypatch.setenv("TICKETFLOW_BROKER_URL", "kafka://10.0.0.1:9092,10.0.0.2:9092")
    monkeypatch.setenv("TICKETFLOW_PARTITIONS", "12")
    settings = Settings()
    assert settings.bootstrap_servers == "10.0.0.1:9092,10.0.0.2:9092" and settings.partitions == 12


@pytest.mark.parametrize(
    ("name", "value"),
    [("broker_url", "no-port"), ("topic_prefix", "bad prefix!"), ("partitions", 0), ("session_timeout", 0.1)],
)
def test_bad_values_are_refused_naming_the_variable(name, value):
    with pytest.raises(ValidationError) as error:
        Settings(**{name: value})
    assert f"TICKETFLOW_{name.upper()}" in describe_settings_error(error.value)


def test_single_record_batches_only_on_the_embedded_broker_unless_set():
    assert Settings(broker_kind="embedded").uses_single_record_batches
    assert not Settings(broker_kind="kafka").uses_single_record_batches
    assert Settings(broker_kind="kafka", single_record_batches=True).uses_single_record_batches


def test_settings_pass_to_child_processes_unchanged(monkeypatch):
    settings = Settings(broker_url="127.0.0.1:1234", partitions=3, topic_prefix="x.")
    for key, value in settings_environment(settings).items():
        monkeypatch.setenv(key, value)
    assert Settings() == settings


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [("app_secret", "short", "at least 16"), ("wecom_aes_key", "x" * 42, "43 characters"),
     ("wecom_token", "bad token!", "3-32"), ("sheet_timezone", "Mars/Olympus", "time zone")],
)  # fmt: skip
def test_bad_channel_settings_are_refused_naming_the_variable(name, value, message):
    with pytest.raises(ValidationError) as error:
        Settings(**{name: value})
    described = describe_settings_error(error.value)
    assert f"TICKETFLOW_{name.upper()}" in described and message in described


def test_half_configured_wecom_names_the_missing_variables():
    with pytest.raises(ValidationError) as error:
        Settings(wecom_token="QDG6eK")
    described = describe_settings_error(error.value)
    assert "TICKETFLOW_WECOM_AES_KEY" in described and "TICKETFLOW_WECOM_CORP_ID" in described


def test_secrets_reach_child_processes_but_are_never_shown(monkeypatch):
    settings = Settings(app_secret="app-secret-0123456789", imap_host="imap.example", imap_user="support",
                        imap_password="mailbox-password")  # fmt: skip
    assert "app-secret-0123456789" not in repr(settings) and "mailbox-password" not in str(settings)
    for key, value in settings_environment(settings).items():
        monkeypatch.setenv(key, value)
    assert Settings().channel_secret("app") == b"app-secret-0123456789"
    assert Settings().imap_password.get_secret_value() == "mailbox-password"
