"""Who may send and how often: the allowlist, rate limits, storm caps and KPN's quota.

No Slack, no KPN client, no database in here: the checks that need counting across replicas
are handed to the store as `Cap`s, counted in the same transaction that records the request.
"""

from smsbot.policy.access import check_access
from smsbot.policy.allowlist import Allowlist
from smsbot.policy.limits import caps_for
from smsbot.policy.quota import QuotaGate
from smsbot.policy.refusal import Refusal

__all__ = ["Allowlist", "QuotaGate", "Refusal", "caps_for", "check_access"]
