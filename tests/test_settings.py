"""Settings are read as CONTRACT.md names them: SMSBOT_ prefix, "__" nesting, Slack's own
variable names, comma-separated ID lists, a TOML file named by SMSBOT_CONFIG."""

from __future__ import annotations

import pytest

from smsbot.errors import ConfigurationError
from smsbot.settings import load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    # A developer's own SMSBOT_/SLACK_ variables or .env must not leak into these tests.
    import os

    for name in list(os.environ):
        if name.startswith(("SMSBOT_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_the_contract_defaults():
    settings = load_settings()
    assert settings.kpn.base_url == "https://api-prd.kpn.com"
    assert settings.kpn.sender == "SMSBot"
    assert settings.slack.api_url == "https://slack.com/api/"
    assert settings.database_url == "sqlite:///smsbot.db"
    assert settings.allow.users == [] and settings.allow.channels == []
    assert settings.alerts.token is None
    assert not settings.kpn.has_credentials


def test_nested_variables_and_comma_separated_ids(monkeypatch):
    monkeypatch.setenv("SMSBOT_KPN__CLIENT_ID", "app-id")
    monkeypatch.setenv("SMSBOT_KPN__CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("SMSBOT_ALLOW__USERS", "U111, U222,,")
    monkeypatch.setenv("SMSBOT_ALLOW__USERGROUPS", "S1")
    settings = load_settings()
    assert settings.kpn.client_id == "app-id"
    assert settings.kpn.client_secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
    assert settings.allow.users == ["U111", "U222"]
    assert settings.allow.usergroups == ["S1"]
    assert settings.kpn.has_credentials


def test_slack_names_are_read_but_smsbot_names_win(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-slack-name")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing")
    monkeypatch.setenv("SMSBOT_SLACK__APP_TOKEN", "xapp-1")
    settings = load_settings()
    assert settings.slack.bot_token.get_secret_value() == "xoxb-from-slack-name"
    assert settings.slack.signing_secret.get_secret_value() == "signing"
    assert settings.slack.app_token.get_secret_value() == "xapp-1"

    monkeypatch.setenv("SMSBOT_SLACK__BOT_TOKEN", "xoxb-from-smsbot-name")
    assert load_settings().slack.bot_token.get_secret_value() == "xoxb-from-smsbot-name"


def test_toml_file_below_environment(monkeypatch, tmp_path):
    config = tmp_path / "smsbot.toml"
    config.write_text(
        'database_url = "sqlite:///from-toml.db"\n'
        '[kpn]\nsender = "Ops"\n'
        '[allow]\nchannels = ["C1", "C2"]\n'
        '[[alerts.routes]]\nname = "oncall"\nrecipients = ["0612345678"]\n'
    )
    monkeypatch.setenv("SMSBOT_CONFIG", str(config))
    monkeypatch.setenv("SMSBOT_KPN__SENDER", "FromEnv")
    settings = load_settings()
    assert settings.database_url == "sqlite:///from-toml.db"
    assert settings.kpn.sender == "FromEnv"
    assert settings.allow.channels == ["C1", "C2"]
    assert settings.alerts.routes[0]["name"] == "oncall"


def test_missing_config_file_says_what_to_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("SMSBOT_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigurationError, match="not a file"):
        load_settings()


def test_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("SMSBOT_LIMITS__PER_ACTOR_PER_HOUR", "many")
    with pytest.raises(ConfigurationError, match="SMSBOT_LIMITS__PER_ACTOR_PER_HOUR"):
        load_settings()


def test_with_sandbox_uses_the_sandbox_credentials():
    settings = load_settings().with_sandbox("http://127.0.0.1:8025")
    assert settings.kpn.base_url == "http://127.0.0.1:8025"
    assert settings.kpn.client_id == "sandbox"
    assert settings.kpn.client_secret.get_secret_value() == "sandbox"


def test_log_level_from_environment_and_a_bad_one_is_refused(monkeypatch, capsys):
    from smsbot.cli.main import main

    monkeypatch.setenv("SMSBOT_LOG_LEVEL", "loud")
    assert main(["segments", "hi"]) == 2
    assert "log level 'LOUD' is unknown" in capsys.readouterr().err
    assert main(["--log-level", "warning", "segments", "hi"]) == 0


def test_slack_names_in_dotenv_are_read_below_smsbot_names(tmp_path):
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-from-dotenv\nSLACK_SIGNING_SECRET=dotenv-secret\n"
        "SMSBOT_SLACK__SIGNING_SECRET=smsbot-secret\n"
    )
    settings = load_settings()  # the clean_env fixture runs us in tmp_path
    assert settings.slack.bot_token.get_secret_value() == "xoxb-from-dotenv"
    assert settings.slack.signing_secret.get_secret_value() == "smsbot-secret"
    assert load_settings(_env_file=None).slack.bot_token is None


def test_outbox_concurrency_must_be_positive(monkeypatch):
    monkeypatch.setenv("SMSBOT_KPN__OUTBOX_CONCURRENCY", "0")
    with pytest.raises(ConfigurationError, match="SMSBOT_KPN__OUTBOX_CONCURRENCY"):
        load_settings()
    monkeypatch.setenv("SMSBOT_KPN__OUTBOX_CONCURRENCY", "32")
    assert load_settings().kpn.outbox_concurrency == 32


# ----- mistakes named, not swallowed -----


def write_config(monkeypatch, tmp_path, text: str):
    path = tmp_path / "smsbot.toml"
    path.write_text(text)
    monkeypatch.setenv("SMSBOT_CONFIG", str(path))
    return path


def test_toml_syntax_error_names_file_line_and_column(monkeypatch, tmp_path):
    path = write_config(monkeypatch, tmp_path, '[alerts]\ntoken = "x"\nstorm_max 5\n')
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    message = str(refused.value)
    assert str(path) in message
    assert "line 3, column 11" in message


def test_toml_syntax_error_exits_2_without_a_traceback(monkeypatch, tmp_path, capsys):
    from smsbot.cli.main import main

    write_config(monkeypatch, tmp_path, "[[alerts.routes]\nname = 1\n")
    assert main(["audit"]) == 2
    err = capsys.readouterr().err
    assert "not valid TOML" in err and "line 1" in err
    assert "Traceback" not in err


def test_unknown_table_in_the_file_names_the_nearest(monkeypatch, tmp_path):
    write_config(
        monkeypatch,
        tmp_path,
        '[[alert.routes]]\nname = "on-call"\nrecipients = ["0612345678"]\n',
    )
    with pytest.raises(ConfigurationError, match=r"unknown key alert \(did you mean alerts\?\)"):
        load_settings()


def test_unknown_key_in_a_section_names_the_nearest(monkeypatch, tmp_path):
    write_config(monkeypatch, tmp_path, '[kpn]\nclient_ld = "x"\n[alerts]\nstorm_mx = 3\n')
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    message = str(refused.value)
    assert "kpn.client_ld (did you mean kpn.client_id?)" in message
    assert "alerts.storm_mx (did you mean alerts.storm_max?)" in message


def test_unknown_variable_names_the_nearest(monkeypatch):
    monkeypatch.setenv("SMSBOT_ALERT__TOKEN", "s3cret")
    monkeypatch.setenv("SMSBOT_DATABASE_URI", "sqlite:///x.db")
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    message = str(refused.value)
    assert "SMSBOT_ALERT__TOKEN (did you mean SMSBOT_ALERTS__TOKEN?)" in message
    assert "SMSBOT_DATABASE_URI (did you mean SMSBOT_DATABASE_URL?)" in message
    assert "s3cret" not in message  # names only, never values


def test_unknown_variable_in_dotenv_is_named(tmp_path):
    (tmp_path / ".env").write_text("SMSBOT_KPN__SENDR=Ops\n")
    with pytest.raises(
        ConfigurationError,
        match=r"SMSBOT_KPN__SENDR \(did you mean SMSBOT_KPN__SENDER\?\) in \.env",
    ):
        load_settings()


def test_variables_that_are_not_settings_are_left_alone(monkeypatch, tmp_path):
    monkeypatch.setenv("SMSBOT_TEST_DATABASE_URL", "postgresql://x")
    monkeypatch.setenv("SMSBOT_BENCH_DATABASE_URL", "postgresql://x")
    monkeypatch.setenv("smsbot_kpn__sender", "Ops")  # names are case-insensitive
    monkeypatch.setenv("SLACK_SOMETHING_ELSE", "x")
    assert load_settings().kpn.sender == "Ops"


def test_unknown_route_key_names_the_nearest():
    from smsbot.alerts.routing import load_routes

    with pytest.raises(
        ConfigurationError, match=r"unknown key recipents \(did you mean recipients\?\)"
    ):
        load_routes([{"name": "x", "recipents": ["0612345678"]}])


def test_timezone_setting_and_an_unknown_zone(monkeypatch):
    assert load_settings().timezone == "Europe/Amsterdam"
    monkeypatch.setenv("SMSBOT_TIMEZONE", "Europe/Amsterdamm")
    with pytest.raises(ConfigurationError, match=r"SMSBOT_TIMEZONE.*IANA"):
        load_settings()
