"""KPN's SMS API: the async client, its token cache, wire models, answers and retry rules."""

from smsbot.kpn.client import KpnClient
from smsbot.kpn.models import Quota, Receipt

__all__ = ["KpnClient", "Quota", "Receipt"]
