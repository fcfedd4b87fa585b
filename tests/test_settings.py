import pytest
from pydantic import ValidationError

from streams.settings import Settings, describe_settings_error
from streams.supervisor import settings_environment
from tests import tls


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


def test_records_are_batched_on_every_broker_unless_single_record_batches_are_asked_for():
    assert not Settings(broker_kind="embedded").uses_single_record_batches
    assert not Settings(broker_kind="kafka").uses_single_record_batches
    assert Settings(broker_kind="embedded", single_record_batches=True).uses_single_record_batches


def test_settings_pass_to_child_processes_unchanged(monkeypatch):
    settings = Settings(broker_url="127.0.0.1:1234", partitions=3, topic_prefix="x.")
    for key, value in settings_environment(settings).items():
        monkeypatch.setenv(key, value)
    assert Settings() == settings


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("app_secret", "short", "at least 16"),
        ("wecom_aes_key", "x" * 42, "43 characters"),
        ("wecom_token", "bad token!", "3-32"),
        ("sheet_timezone", "Mars/Olympus", "time zone"),
    ],
)
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
    settings = Settings(
        app_secret="app-secret-0123456789",
        imap_host="imap.example",
        imap_user="support",
        imap_password="mailbox-password",
    )
    assert "app-secret-0123456789" not in repr(settings) and "mailbox-password" not in str(settings)
    for key, value in settings_environment(settings).items():
        monkeypatch.setenv(key, value)
    assert Settings().channel_secret("app") == b"app-secret-0123456789"
    assert Settings().imap_password.get_secret_value() == "mailbox-password"


def test_smtp_defaults_offer_no_tls_and_allow_any_peer():
    settings = Settings()
    assert settings.smtp_tls_context() is None and not settings.smtp_requires_tls
    assert settings.smtp_allowed_networks is None


def test_smtp_allowed_peers_are_read_as_networks(monkeypatch):
    monkeypatch.setenv("TICKETFLOW_SMTP_ALLOWED_PEERS", "10.0.0.0/8, 192.168.1.5,2001:db8::/32")
    assert [str(network) for network in Settings().smtp_allowed_networks] == [
        "10.0.0.0/8",
        "192.168.1.5/32",
        "2001:db8::/32",
    ]


def test_a_bad_smtp_allowed_peer_is_refused_naming_the_variable_and_the_entry():
    with pytest.raises(ValidationError) as error:
        Settings(smtp_allowed_peers="10.0.0.0/8,10.0.0.300/24")
    described = describe_settings_error(error.value)
    assert "TICKETFLOW_SMTP_ALLOWED_PEERS" in described and "'10.0.0.300/24'" in described


def test_a_missing_smtp_certificate_file_is_refused_naming_the_variable(tmp_path):
    _, key = tls.self_signed(tmp_path)
    with pytest.raises(ValidationError) as error:
        Settings(smtp_tls_cert=tmp_path / "absent.pem", smtp_tls_key=key)
    described = describe_settings_error(error.value)
    assert "TICKETFLOW_SMTP_TLS_CERT: " in described and "no such file" in described


def test_an_smtp_certificate_without_its_key_is_refused_naming_the_missing_variable(tmp_path):
    cert, _ = tls.self_signed(tmp_path)
    with pytest.raises(ValidationError) as error:
        Settings(smtp_tls_cert=cert)
    assert "TICKETFLOW_SMTP_TLS_KEY" in describe_settings_error(error.value)


def test_an_smtp_key_that_does_not_match_the_certificate_is_refused(tmp_path):
    cert, _ = tls.self_signed(tmp_path)
    with pytest.raises(ValidationError) as error:
        Settings(smtp_tls_cert=cert, smtp_tls_key=tls.other_key(tmp_path))
    described = describe_settings_error(error.value)
    assert "TICKETFLOW_SMTP_TLS_KEY: " in described and "is not the private key of the certificate" in described


def test_requiring_smtp_tls_without_a_certificate_is_refused():
    with pytest.raises(ValidationError) as error:
        Settings(smtp_require_tls=True)
    assert "TICKETFLOW_SMTP_TLS_CERT" in describe_settings_error(error.value)


def test_a_certificate_turns_required_smtp_tls_on_unless_switched_off(tmp_path):
    cert, key = tls.self_signed(tmp_path)
    assert Settings(smtp_tls_cert=cert, smtp_tls_key=key).smtp_requires_tls
    assert not Settings(smtp_tls_cert=cert, smtp_tls_key=key, smtp_require_tls=False).smtp_requires_tls
