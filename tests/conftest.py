"""Shared fixtures live in tests/fixtures/, one module per real part the tests run against."""

pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.database",
    "tests.fixtures.slack",
    "tests.fixtures.alertmanager",
]
