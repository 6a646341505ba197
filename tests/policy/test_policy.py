"""Policy pieces on their own: allowlist, access by surface, caps, the KPN quota gate."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from smsbot.errors import KpnQuotaExhausted
from smsbot.kpn.models import Quota
from smsbot.policy import Allowlist, QuotaGate, caps_for, check_access
from smsbot.settings import Settings
from smsbot.sms.request import SendRequest, Surface

NUMBER = "+31612345678"
NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class Directory:
    """Group membership as Slack would answer `usergroups.users.list`, counting the calls."""

    def __init__(self, groups: dict[str, set[str]], *, broken: bool = False) -> None:
        self.groups = groups
        self.calls = 0
        self.broken = broken

    async def members(self, usergroup_id: str) -> frozenset[str]:
        self.calls += 1
        await asyncio.sleep(0.01)
        if self.broken:
            raise ConnectionError("slack unreachable")
        return frozenset(self.groups.get(usergroup_id, set()))


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_allowlist_users_channels_and_groups() -> None:
    directory = Directory({"S1": {"U3"}})
    allowlist = Allowlist(users=["U1"], usergroups=["S1"], channels=["C1"], directory=directory)
    assert await allowlist.permits("U1")
    assert await allowlist.permits("U2", "C1")
    assert await allowlist.permits("U3", "C9")
    assert not await allowlist.permits("U2", "C9")
    assert not await Allowlist().permits("U1", "C1")  # empty: nobody


async def test_a_burst_costs_one_group_lookup_and_removal_shows_after_the_cache():
    clock = Clock()
    directory = Directory({"S1": {"U3"}})
    allowlist = Allowlist(usergroups=["S1"], directory=directory, cache_seconds=300, clock=clock)
    assert all(await asyncio.gather(*(allowlist.permits("U3") for _ in range(20))))
    assert directory.calls == 1
    directory.groups["S1"] = set()
    clock.now = 299
    assert await allowlist.permits("U3")
    clock.now = 301
    assert not await allowlist.permits("U3")
    assert directory.calls == 2


def request(actor: str, surface: Surface, channel: str | None = None) -> SendRequest:
    return SendRequest(actor, surface, NUMBER, "hi", channel=channel)


async def access(req: SendRequest, allowlist: Allowlist):
    return await check_access(req, allowlist, allowed_workflows=["Wf1"], admin_contact="#it-help")


async def test_access_by_surface() -> None:
    allowlist = Allowlist(users=["U1"])
    assert await access(request("cli:ops", Surface.CLI), allowlist) is None
    assert await access(request("alert:x", Surface.GRAFANA), allowlist) is None
    assert await access(request("U1", Surface.SLACK_MODAL), allowlist) is None
    assert await access(request("Wf1", Surface.WORKFLOW), allowlist) is None
    refused = await access(request("U2", Surface.SLACK_COMMAND), allowlist)
    assert refused.rule == "allowlist" and "Ask #it-help" in refused.message
    refused = await access(request("workflow:Wf2", Surface.WORKFLOW), allowlist)
    assert "Workflow Wf2" in refused.message and "SMSBOT_SLACK__STEP_PERMISSIONS" in refused.message


async def test_slack_failing_during_the_check_refuses_safely() -> None:
    allowlist = Allowlist(usergroups=["S1"], directory=Directory({}, broken=True))
    refused = await access(request("U3", Surface.SLACK_COMMAND), allowlist)
    assert refused.rule == "allowlist" and "Try again in a minute" in refused.message


def test_people_get_hourly_caps_and_alerts_get_storm_control() -> None:
    settings = Settings(
        _env_file=None,
        limits={"per_actor_per_hour": 7, "per_recipient_per_hour": 3},
        alerts={"storm_max": 4, "storm_window_seconds": 300},
    )
    actor, recipient = caps_for(settings, Surface.SLACK_COMMAND, "U1", NUMBER)
    assert (actor.column, actor.value, actor.maximum, actor.window) == (
        "actor",
        "U1",
        7,
        timedelta(hours=1),
    )
    assert (recipient.column, recipient.value, recipient.maximum) == ("recipient", NUMBER, 3)
    assert Surface.GRAFANA not in recipient.surfaces and Surface.CLI in recipient.surfaces
    assert "+31 6 ****5678" in recipient.describe(
        NOON
    ) and "2026-11-25 13:00 CET" in recipient.describe(NOON)
    [storm] = caps_for(settings, Surface.ALERTMANAGER, "alert:db", NUMBER)
    assert (storm.rule, storm.maximum, storm.window) == ("storm", 4, timedelta(minutes=5))
    assert storm.surfaces == {Surface.ALERTMANAGER, Surface.GRAFANA}
    assert "4 alert SMS in the last 5 minutes" in storm.describe(NOON)


def test_unmasked_numbers_in_refusals_when_masking_is_off() -> None:
    settings = Settings(_env_file=None, audit={"mask_numbers": False})
    _, recipient = caps_for(settings, Surface.CLI, "cli:ops", NUMBER)
    assert NUMBER in recipient.describe(NOON)


def quota(remaining: int, reset_at: datetime | None) -> Quota:
    return Quota(100, 100 - remaining, remaining, reset_at, 1, "hour")


def test_quota_gate_closes_on_a_used_up_quota_and_opens_at_the_reset() -> None:
    now = [NOON]
    gate = QuotaGate(clock=lambda: now[0])
    gate.saw_quota(quota(5, NOON + timedelta(minutes=30)))
    assert gate.check() is None
    gate.saw_quota(quota(0, None))  # no reset time: nothing to wait for
    assert gate.check() is None
    gate.saw_quota(quota(0, NOON + timedelta(minutes=30)))
    refused = gate.check()
    assert (refused.rule, refused.retry_at) == ("kpn_quota", NOON + timedelta(minutes=30))
    assert "2026-11-25 13:30 CET" in refused.message  # SMSBOT_TIMEZONE, Europe/Amsterdam
    now[0] = NOON + timedelta(minutes=30)
    assert gate.check() is None and gate.reopens_at is None


def test_quota_gate_after_a_429_prefers_retry_after_then_the_reset() -> None:
    gate = QuotaGate(clock=lambda: NOON)
    until = gate.saw_exhausted(
        KpnQuotaExhausted("429", retry_after=90, reset_at=NOON + timedelta(hours=1))
    )
    assert until == NOON + timedelta(seconds=90)
    gate = QuotaGate(clock=lambda: NOON)
    assert gate.saw_exhausted(KpnQuotaExhausted("429", reset_at=NOON + timedelta(hours=1))) == (
        NOON + timedelta(hours=1)
    )
    gate = QuotaGate(clock=lambda: NOON)
    assert gate.saw_exhausted(KpnQuotaExhausted("429")) == NOON + timedelta(minutes=1)


def test_refusal_times_follow_smsbot_timezone() -> None:
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    for zone, shown in (("Europe/Amsterdam", "14:00 CEST"), ("UTC", "12:00 UTC")):
        settings = Settings(_env_file=None, timezone=zone)
        _, recipient = caps_for(settings, Surface.CLI, "cli:ops", NUMBER)
        assert f"2026-07-01 {shown}" in recipient.describe(summer)
    gate = QuotaGate(clock=lambda: NOON, timezone="UTC")
    gate.saw_quota(quota(0, NOON + timedelta(minutes=30)))
    assert "2026-11-25 12:30 UTC" in gate.check().message
