"""Slack's Block Kit limits, checked with slack_sdk's own model validators.

slack_sdk's `validate_json()` checks one object's own attributes (a section's text at most 3,000
characters, a view's title at most 24...), not the objects inside it. `block_problems` and
`view_problems` parse what the bot sends into slack_sdk's model classes and validate every
object in the tree, plus the limits Slack applies to the whole message or view that the models
do not (at most 50 blocks in a message; a view's 100 is a `View` validator). Each returns the
validators' messages: empty means Slack would take it. The fake Slack Web API answers
`invalid_blocks` whenever they are not empty, and tests assert on them directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MESSAGE_BLOCKS_MAX = 50


def _validate_tree(obj: Any, problems: list[str], seen: set[int]) -> None:
    if isinstance(obj, list | tuple):
        for item in obj:
            _validate_tree(item, problems, seen)
        return
    if not isinstance(obj, JsonObject) or id(obj) in seen:
        return
    seen.add(id(obj))
    try:
        obj.validate_json()
    except SlackObjectFormationError as exc:
        problems.append(f"{type(obj).__name__}: {exc}")
    for name, value in vars(obj).items():
        if not name.startswith("__"):
            _validate_tree(value, problems, seen)


def block_problems(blocks: Iterable[Mapping[str, Any]] | None) -> list[str]:
    """What Slack would refuse in a message's `blocks` (`invalid_blocks`)."""
    blocks = list(blocks or [])
    problems: list[str] = []
    if len(blocks) > MESSAGE_BLOCKS_MAX:
        problems.append(f"a message takes at most {MESSAGE_BLOCKS_MAX} blocks, not {len(blocks)}")
    for raw in blocks:
        parsed = Block.parse(dict(raw))
        if parsed is None:
            problems.append(f"unknown block type {raw.get('type')!r}")
            continue
        _validate_tree(parsed, problems, set())
    return problems


def view_problems(view: Mapping[str, Any]) -> list[str]:
    """What Slack would refuse in a view for `views.open` / `views.update`."""
    problems: list[str] = []
    fields = {k: v for k, v in view.items() if k in View.attributes or k == "type"}
    _validate_tree(View(**fields), problems, set())
    return problems
