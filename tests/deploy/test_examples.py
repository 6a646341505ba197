"""deploy/: the examples are what the real tools accept, and speak of metrics smsbot exports."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from smsbot.metrics import Metrics, ScrapeReadings
from tests.fixtures.binaries import require_binary

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "smsbot-rules.yml"


@pytest.fixture
def promtool() -> str:
    return require_binary("promtool", package="prometheus")


@pytest.fixture
def amtool() -> str:
    return require_binary("amtool", package="prometheus-alertmanager")


def run(*command: str, cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def test_promtool_accepts_the_rules(promtool):
    output = run(promtool, "check", "rules", RULES.name, cwd=RULES.parent)
    assert "SUCCESS: 8 rules found" in output


def test_promtool_unit_tests_of_the_rules_pass(promtool):
    output = run(promtool, "test", "rules", "smsbot-rules.test.yml", cwd=RULES.parent)
    assert "SUCCESS" in output


def test_promtool_accepts_the_prometheus_config(promtool):
    output = run(promtool, "check", "config", "prometheus.yml", cwd=DEPLOY / "prometheus")
    assert "is valid prometheus config file" in output


def test_amtool_accepts_the_alertmanager_config(amtool):
    output = run(amtool, "check-config", "alertmanager.yml", cwd=DEPLOY / "alertmanager")
    assert "SUCCESS" in output


def test_the_receiver_posts_to_the_alertmanager_route_with_a_bearer_token():
    config = yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())
    (receiver,) = config["receivers"]
    (webhook,) = receiver["webhook_configs"]
    assert webhook["url"].endswith("/alerts/alertmanager")
    assert webhook["http_config"]["authorization"]["type"] == "Bearer"


def test_every_metric_the_rules_use_is_one_smsbot_exports():
    metrics = Metrics()

    class Socket:
        connected = False

    ScrapeReadings(metrics, slack=Socket())  # Socket Mode's gauge, as the bot has it
    exported = metrics.render().decode()
    groups = yaml.safe_load(RULES.read_text())["groups"]
    used = {
        name
        for group in groups
        for rule in group["rules"]
        for name in re.findall(r"\bsmsbot_[a-z_]+", rule["expr"])
    }
    assert len(used) >= 6
    missing = [name for name in sorted(used) if not re.search(rf"^{name}[ {{]", exported, re.M)]
    assert missing == []
