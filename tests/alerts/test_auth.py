"""AlertAuth on its own; the same rules through HTTP are in test_routes.py."""

import base64
import hashlib
import hmac
import logging

import pytest
from pydantic import SecretStr

from smsbot.alerts.auth import AlertAuth, RefusalLog, Unauthorized
from smsbot.settings import AlertSettings

NOW = 1_714_700_000
BODY = b'{"status": "firing"}'


def sign(secret: str, body: bytes, stamp: str | None = None) -> str:
    signed = body if stamp is None else stamp.encode() + b":" + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def auth(**settings) -> AlertAuth:
    return AlertAuth(AlertSettings(**settings), clock=lambda: NOW)


def test_nothing_configured_refuses_even_a_token():
    with pytest.raises(Unauthorized, match="SMSBOT_ALERTS__TOKEN"):
        auth().check_header({"Authorization": "Bearer anything"})


def test_right_bearer_token():
    assert auth(token=SecretStr("s3cret")).check_header({"Authorization": "Bearer s3cret"})


def test_bearer_scheme_is_case_insensitive():
    assert auth(token=SecretStr("s3cret")).check_header({"Authorization": "bearer s3cret"})


@pytest.mark.parametrize("given", ["Bearer wrong", "Bearer s3cre", "Bearer s3cret2", "Bearer "])
def test_wrong_bearer_token(given):
    with pytest.raises(Unauthorized, match="bearer token is wrong"):
        auth(token=SecretStr("s3cret")).check_header({"Authorization": given})


def test_missing_header_is_not_yet_a_refusal():
    # The route decides: a Grafana signature may still authenticate the request.
    assert auth(token=SecretStr("s3cret")).check_header({}) is False


def test_basic_auth_right_and_wrong():
    checker = auth(basic_user="am", basic_password=SecretStr("pw"))
    assert checker.check_header({"Authorization": basic("am", "pw")})
    for user, password in (("am", "nope"), ("other", "pw")):
        with pytest.raises(Unauthorized, match="user or password is wrong"):
            checker.check_header({"Authorization": basic(user, password)})
    with pytest.raises(Unauthorized, match="not valid base64"):
        checker.check_header({"Authorization": "Basic !!!"})


def test_scheme_not_configured_is_refused():
    with pytest.raises(Unauthorized, match="'Basic' is not accepted"):
        auth(token=SecretStr("s3cret")).check_header({"Authorization": basic("a", "b")})


def test_hmac_of_the_body():
    checker = auth(grafana_hmac_secret=SecretStr("hk"))
    checker.check_signature({"X-Grafana-Alerting-Signature": sign("hk", BODY)}, BODY)
    with pytest.raises(Unauthorized, match="does not match"):
        checker.check_signature({"X-Grafana-Alerting-Signature": sign("other", BODY)}, BODY)
    with pytest.raises(Unauthorized, match="does not match"):
        checker.check_signature({"X-Grafana-Alerting-Signature": sign("hk", BODY)}, BODY + b" ")
    with pytest.raises(Unauthorized, match="no X-Grafana-Alerting-Signature"):
        checker.check_signature({}, BODY)


def test_hmac_with_timestamp():
    checker = auth(grafana_hmac_secret=SecretStr("hk"), grafana_timestamp_header="X-Ts")
    stamp = str(NOW - 10)
    checker.check_signature(
        {"X-Grafana-Alerting-Signature": sign("hk", BODY, stamp), "X-Ts": stamp}, BODY
    )
    # The body alone is not what is signed when a timestamp header is configured.
    with pytest.raises(Unauthorized, match="does not match"):
        checker.check_signature(
            {"X-Grafana-Alerting-Signature": sign("hk", BODY), "X-Ts": stamp}, BODY
        )
    with pytest.raises(Unauthorized, match="X-Ts header is missing"):
        checker.check_signature({"X-Grafana-Alerting-Signature": sign("hk", BODY, stamp)}, BODY)


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_stale_or_future_timestamp_is_refused(offset):
    checker = auth(grafana_hmac_secret=SecretStr("hk"), grafana_timestamp_header="X-Ts")
    stamp = str(NOW + offset)
    with pytest.raises(Unauthorized, match="more than 300 s away"):
        checker.check_signature(
            {"X-Grafana-Alerting-Signature": sign("hk", BODY, stamp), "X-Ts": stamp}, BODY
        )


def test_timestamp_must_be_seconds():
    checker = auth(grafana_hmac_secret=SecretStr("hk"), grafana_timestamp_header="X-Ts")
    with pytest.raises(Unauthorized, match="not Unix seconds"):
        checker.check_signature({"X-Grafana-Alerting-Signature": "ab", "X-Ts": "yesterday"}, BODY)


# aiohttp hands on header bytes that are not UTF-8 as surrogate escapes: b"\xe9" -> "\udce9".
NOT_UTF8 = b"\xe9t\xe9".decode("utf-8", "surrogateescape")


@pytest.mark.parametrize("value", [NOT_UTF8, "été", "s3cr\u00e9t"])
def test_non_ascii_bearer_token_is_wrong_not_an_error(value):
    with pytest.raises(Unauthorized, match="bearer token is wrong") as refused:
        auth(token=SecretStr("s3cret")).check_header({"Authorization": f"Bearer {value}"})
    assert refused.value.check == "wrong_bearer_token"


@pytest.mark.parametrize("value", [NOT_UTF8, "été", base64.b64encode(b"am:\xff").decode()])
def test_non_ascii_or_non_utf8_basic_auth_is_refused(value):
    checker = auth(basic_user="am", basic_password=SecretStr("pw"))
    with pytest.raises(Unauthorized, match="not valid base64"):
        checker.check_header({"Authorization": f"Basic {value}"})


def test_non_ascii_signature_and_timestamp_are_refused():
    checker = auth(grafana_hmac_secret=SecretStr("hk"), grafana_timestamp_header="X-Ts")
    stamp = str(NOW)
    with pytest.raises(Unauthorized, match="does not match"):
        checker.check_signature({"X-Grafana-Alerting-Signature": NOT_UTF8, "X-Ts": stamp}, BODY)
    # Arabic-Indic digits are digits to int(), not Unix seconds.
    with pytest.raises(Unauthorized, match="not Unix seconds"):
        checker.check_signature({"X-Grafana-Alerting-Signature": "ab", "X-Ts": "١٧١٤٧٠٠٠٠٠"}, BODY)


def test_a_long_scheme_is_shown_cut_and_printable():
    with pytest.raises(Unauthorized) as refused:
        auth(token=SecretStr("s3cret")).check_header({"Authorization": "X" * 5000 + "\x07 y"})
    assert len(str(refused.value)) < 100
    assert refused.value.check == "scheme_not_accepted"


# ----- the log of refusals -----


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def refusal(check: str = "wrong_bearer_token") -> Unauthorized:
    return Unauthorized("the bearer token is wrong", check)


def test_each_refusal_is_logged_with_route_check_and_address(caplog):
    refusals = RefusalLog(clock=Clock())
    with caplog.at_level(logging.WARNING, logger="smsbot.alerts.auth"):
        refusals.refused("/alerts/alertmanager", refusal(), "10.1.2.3")
    (line,) = caplog.messages
    assert "/alerts/alertmanager" in line
    assert "10.1.2.3" in line
    assert "wrong_bearer_token" in line and "the bearer token is wrong" in line


def test_refusals_are_rate_limited_and_the_rest_counted(caplog):
    clock = Clock()
    refusals = RefusalLog(per_window=3, window_seconds=60, clock=clock)
    with caplog.at_level(logging.WARNING, logger="smsbot.alerts.auth"):
        for _ in range(50):
            refusals.refused("/alerts/grafana", refusal(), "10.1.2.3")
        assert len(caplog.messages) == 3
        clock.now += 60
        refusals.refused("/alerts/grafana", refusal("no_credentials"), "10.1.2.3")
    assert len(caplog.messages) == 4
    assert "47 more refusals not logged" in caplog.messages[-1]
    assert "no_credentials" in caplog.messages[-1]
