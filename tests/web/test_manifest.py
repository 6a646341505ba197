"""manifest.yml creates the whole Slack app in one step; these pin down what the bot relies on."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def test_metadata_and_display_information(manifest):
    assert manifest["_metadata"]["major_version"] == 2
    display = manifest["display_information"]
    assert display["name"]
    # Slack refuses the manifest when long_description is outside 174..4000 characters.
    assert 174 <= len(display["long_description"]) <= 4000
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", display["background_color"])


def test_sms_slash_command_with_usage_hint(manifest):
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/sms"
    assert command["description"]
    assert "help" in command["usage_hint"] and "history" in command["usage_hint"]
    # /sms @person needs the user id, which Slack only sends when it escapes the text.
    assert command["should_escape"] is True
    assert "url" not in command  # Socket Mode: no request URL


def test_both_shortcuts(manifest):
    shortcuts = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}
    assert shortcuts["send_sms"]["type"] == "global"
    assert shortcuts["send_sms"]["name"] == "Send SMS"
    assert shortcuts["send_as_sms"]["type"] == "message"
    assert shortcuts["send_as_sms"]["name"] == "Send as SMS"
    assert all(s["description"] for s in shortcuts.values())


def test_settings_socket_mode_interactivity_and_custom_steps(manifest):
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["function_runtime"] == "remote"
    assert settings["org_deploy_enabled"] is True
    assert "function_executed" in settings["event_subscriptions"]["bot_events"]


def test_bot_scopes_are_the_ones_the_bot_calls_need(manifest):
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes))
    assert set(scopes) >= {
        "commands",  # /sms, shortcuts
        "chat:write",  # chat.postMessage, chat.postEphemeral
        "users:read",  # users.info
        "users.profile:read",  # users.profile.get: the profile phone number
        "usergroups:read",  # usergroups.users.list: allowlist by group
    }
    assert "user" not in manifest["oauth_config"]["scopes"]  # no user token needed


def test_every_bot_scope_has_a_comment_saying_why():
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    start = lines.index("    bot:")
    scope_lines = []
    for number in range(start + 1, len(lines)):
        line = lines[number]
        if line.strip() and not line.startswith("      "):
            break
        if line.strip().startswith("- "):
            scope_lines.append(number)
    assert len(scope_lines) >= 5
    for number in scope_lines:
        assert lines[number - 1].strip().startswith("#"), f"no comment above {lines[number]}"


def test_send_sms_workflow_step(manifest):
    step = manifest["functions"]["send_sms"]
    assert step["title"] == "Send SMS"
    inputs = step["input_parameters"]["properties"]
    assert inputs["recipient"]["type"] == "string"
    assert inputs["recipient_user"]["type"] == "slack#/types/user_id"
    assert inputs["message"]["type"] == "string"
    assert inputs["sender"]["type"] == "string"
    # a number or a person: neither alone is required; the message always is
    assert step["input_parameters"]["required"] == ["message"]
    outputs = step["output_parameters"]["properties"]
    assert {name: p["type"] for name, p in outputs.items()} == {
        "document_id": "string",
        "parts": "integer",
        "status": "string",
    }
    for parameter in [*inputs.values(), *outputs.values()]:
        assert parameter["title"] and parameter["description"]


def test_manifest_names_what_the_app_listens_for(manifest):
    # A renamed callback id on either side would make the shortcut or step silently dead.
    from smsbot.slack import command, shortcuts, workflow_step

    [slash] = manifest["features"]["slash_commands"]
    assert slash["command"] == command.COMMAND
    by_type = {s["type"]: s["callback_id"] for s in manifest["features"]["shortcuts"]}
    assert by_type == {
        "global": shortcuts.GLOBAL_SHORTCUT,
        "message": shortcuts.MESSAGE_SHORTCUT,
    }
    assert list(manifest["functions"]) == [workflow_step.CALLBACK_ID]
