"""Fixtures for the alert tests: settings and the running alert routes."""

from __future__ import annotations

import pytest

from tests.alerts.harness import alert_settings


@pytest.fixture
def settings_for(sandbox, sqlite_url):
    """Settings against this test's sandbox and SQLite database, with alert overrides."""

    def build(**alerts):
        return alert_settings(sandbox.url, sqlite_url, **alerts)

    return build
