"""Log hygiene (`smsbot.logs`): what a handler writes has no phone number, no SQL parameters,
and a bounded length, whoever logged it; the libraries' DEBUG bodies are held back."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from smsbot import logs


@pytest.fixture
def written() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A root-like logger with one handler, hygiene installed as the command line does."""
    out = io.StringIO()
    root = logging.Logger("test-root", logging.DEBUG)
    root.addHandler(logging.StreamHandler(out))
    levels = {name: logging.getLogger(name).level for name in logs.LIBRARIES}
    logs.install(root.handlers)
    logs.install(root.handlers)  # twice: nothing added twice
    try:
        yield root, out
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize(
    "number", ["0612345678", "+31612345678", "06 1234 5678", "(06) 1234-5678", "%2B31612345678"]
)
def test_numbers_in_messages_and_arguments_keep_their_last_four_digits(written, number) -> None:
    root, out = written
    root.info("body: text=%s+hi", number)
    assert "5678" in out.getvalue()
    assert "1234" not in out.getvalue().replace("%2B", "")


def test_sql_parameters_and_tracebacks_are_cleaned(written) -> None:
    root, out = written
    try:
        raise ValueError(
            "(sqlite3.IntegrityError) ...\n[SQL: INSERT INTO sends ...]\n"
            "[parameters: ('+31612345678', 'Vault code 4471')]"
        )
    except ValueError:
        root.exception("could not record sms %s", "abc123")
    text = out.getvalue()
    assert "could not record sms abc123" in text and "[parameters: hidden]" in text
    assert "Vault code" not in text and "612345678" not in text


def test_every_line_is_bounded(written) -> None:
    root, out = written
    root.warning("%s", "x" * 1_000_000)
    assert len(out.getvalue()) < logs.MAX_MESSAGE + 100
    assert "more characters not logged" in out.getvalue()


def test_dates_ids_and_short_counts_stay_readable() -> None:
    line = "step Fx0000000015 at 2026-12-01 10:16:35 UTC; id 0c5c1a981e33a56e, 1234567 bytes"
    assert logs.mask_digit_runs(line) == line


def test_libraries_are_held_at_info_even_when_debug_is_asked_for() -> None:
    saved = {name: logging.getLogger(name).level for name in logs.LIBRARIES}
    try:
        for name in logs.LIBRARIES:
            logging.getLogger(name).setLevel(logging.DEBUG)
        logs.install([])
        assert not logging.getLogger("slack_sdk.web.async_base_client").isEnabledFor(logging.DEBUG)
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def test_library_debug_records_are_dropped_whatever_their_loggers_level(written) -> None:
    root, out = written
    bolt = logging.getLogger("slack_bolt.AsyncApp")
    record = bolt.makeRecord(bolt.name, logging.DEBUG, __file__, 1, "body: %s", ("hi",), None)
    root.handle(record)
    own = root.makeRecord("smsbot.service", logging.DEBUG, __file__, 1, "own line", (), None)
    root.handle(own)
    assert out.getvalue() == "own line\n"
