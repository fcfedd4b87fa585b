"""The demo's own pieces: secrets generated for a run, and the summary screen."""

from __future__ import annotations

from pydantic import SecretStr

from streams.demo import channel_secrets, render_summary, with_channel_secrets
from streams.settings import SIGNED_CHANNELS, Settings
from streams.supervisor import settings_environment


def test_every_signed_channel_gets_a_secret_for_the_run():
    settings = with_channel_secrets(Settings())
    assert all(settings.channel_secret(channel) for channel in SIGNED_CHANNELS)


def test_the_wechat_work_callback_is_configured_with_valid_keys():
    settings = with_channel_secrets(Settings())
    Settings(**settings.model_dump())  # passes the settings' own validators (token, 43-char key, all three)
    assert channel_secrets(settings).wecom is not None


def test_secrets_differ_from_run_to_run():
    assert with_channel_secrets(Settings()).app_secret != with_channel_secrets(Settings()).app_secret


def test_a_secret_that_is_already_set_is_kept():
    settings = with_channel_secrets(Settings(app_secret=SecretStr("operator-chosen-secret")))
    assert settings.channel_secret("app") == b"operator-chosen-secret"


def test_the_generated_secrets_reach_the_children_through_the_environment():
    settings = with_channel_secrets(Settings())
    env = settings_environment(settings)
    assert env["TICKETFLOW_VIP_SECRET"] == settings.vip_secret.get_secret_value()
    assert env["TICKETFLOW_WECOM_AES_KEY"] == settings.wecom_aes_key.get_secret_value()


def test_the_generated_secrets_are_not_in_the_settings_repr():
    settings = with_channel_secrets(Settings())
    assert settings.phone_secret.get_secret_value() not in repr(settings)


def test_the_summary_shows_requests_by_adapter_and_the_hotline():
    gateway = {
        "ticketflow_gateway_accepted_total": [
            ({"channel": "app", "adapter": "webhook"}, 5.0),
            ({"channel": "phone", "adapter": "cti-webhook"}, 3.0),
        ],
        "ticketflow_calls_answered_total": [({"within_target": "true"}, 2.0), ({"within_target": "false"}, 1.0)],
    }
    screen = render_summary({}, gateway, elapsed=10, sent=8, planned=0)
    assert "by adapter    webhook 5  cti-webhook 3" in screen
    assert "3 calls answered (2 within target)" in screen


def test_the_summary_shows_surveys_csat_recoveries_and_care():
    labels = {"type": "complaint", "channel": "app", "department": "after_sales"}
    worker = {
        "ticketflow_followups_sent_total": [
            ({**labels, "kind": "survey"}, 4.0),
            ({**labels, "kind": "second_followup"}, 1.0),
        ],
        "ticketflow_feedback_answers_total": [
            ({**labels, "satisfied": "true"}, 3.0),
            ({**labels, "satisfied": "false"}, 1.0),
        ],
        "ticketflow_feedback_csat_total": [({**labels, "score": "5"}, 3.0), ({**labels, "score": "1"}, 1.0)],
        "ticketflow_recoveries_total": [({"type": "complaint", "department": "after_sales", "action": "reopen"}, 1.0)],
        "ticketflow_care_sent_total": [({"occasion": "birthday", "tier": "vip"}, 2.0)],
    }
    screen = render_summary(worker, {}, elapsed=10, sent=8, planned=0)
    assert "surveys       4 sent" in screen and "CSAT 4.00   75% satisfied" in screen
    assert "1 reopened, 1 second follow-ups" in screen and "care          birthday 2   suppressed 0" in screen


def test_the_simulated_customers_answer_surveys_and_have_profiles():
    import random
    from datetime import date

    from streams.models import CustomerProfile
    from streams.simulator import TrafficGenerator, care_profiles, survey_answer

    rng = random.Random(1)
    answers = [survey_answer(rng, f"TKT-{n}") for n in range(200)]
    assert any(a["csat"] <= 2 for a in answers) and sum(a["csat"] >= 4 for a in answers) > 100
    profiles = care_profiles(TrafficGenerator(seed=1).customers, date(2027, 3, 10), rng)
    assert profiles and all(CustomerProfile.model_validate(p) for p in profiles)
    assert any(p.get("birthday", "").endswith("-03-10") for p in profiles)
