"""Settings that do not exist, named with the nearest one that does.

pydantic-settings ignores what it does not know: `SMSBOT_ALERT__TOKEN` (for `..._ALERTS__...`)
silently leaves the alert intake closed, and `[[alert.routes]]` in the TOML file silently gives
no routes. `load_settings` asks these functions first, and stops with every unknown name, e.g.

    unknown setting SMSBOT_ALERT__TOKEN (did you mean SMSBOT_ALERTS__TOKEN?)
    /etc/smsbot.toml: unknown key alert (did you mean alerts?)

Valid names come from the settings models themselves, so a new setting is known everywhere at
once. Route tables (`[[alerts.routes]]`) are checked by `smsbot.alerts.routing` the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

ENV_PREFIX = "SMSBOT_"
NESTED = "__"
# SMSBOT_ variables that are not settings: the settings file itself, and the test suite's and
# benchmarks' own.
NOT_SETTINGS = ("CONFIG", "SCREENSHOT_DIR")
NOT_SETTINGS_PREFIXES = ("TEST_", "BENCH_")


def nearest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like `name`, if any is close enough to be what was meant."""
    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    match = nearest(name, candidates)
    return f" (did you mean {match}?)" if match else ""


def _section(model: type[BaseModel], field: str) -> type[BaseModel] | None:
    annotation = model.model_fields[field].annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def env_names(model: type[BaseModel]) -> list[str]:
    """Every `SMSBOT_` variable the settings read: `SMSBOT_KPN`, `SMSBOT_KPN__BASE_URL`, ..."""
    names = []
    for field in model.model_fields:
        names.append(ENV_PREFIX + field.upper())
        section = _section(model, field)
        if section is not None:
            names += [
                f"{ENV_PREFIX}{field.upper()}{NESTED}{sub.upper()}" for sub in section.model_fields
            ]
    return names


def unknown_variables(model: type[BaseModel], variables: Mapping[str, str]) -> list[str]:
    """A problem for each `SMSBOT_` variable that is no setting (names are case-insensitive,
    as pydantic-settings reads them)."""
    known = env_names(model)
    problems = []
    for variable in sorted(variables):
        upper = variable.upper()
        if not upper.startswith(ENV_PREFIX):
            continue
        rest = upper.removeprefix(ENV_PREFIX)
        if rest in NOT_SETTINGS or rest.startswith(NOT_SETTINGS_PREFIXES) or upper in known:
            continue
        problems.append(f"unknown setting {variable}{did_you_mean(upper, known)}")
    return problems


def unknown_keys(model: type[BaseModel], data: Mapping[str, Any], where: str = "") -> list[str]:
    """A problem for each key of a TOML document (or table) that is no setting; tables of
    sections are followed down."""
    problems = []
    for key, value in data.items():
        path = f"{where}.{key}" if where else key
        if key not in model.model_fields:
            siblings = [f"{where}.{k}" if where else k for k in model.model_fields]
            problems.append(f"unknown key {path}{did_you_mean(path, siblings)}")
            continue
        section = _section(model, key)
        if section is not None and isinstance(value, Mapping):
            problems += unknown_keys(section, value, path)
    return problems
