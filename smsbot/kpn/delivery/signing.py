"""The delivery-report URL each send gives KPN: `{public_url}/kpn/delivery/{sms id}?sig=...`.

The URL says which SMS a report is about, and its signature proves smsbot issued it, so a
report's body only has to carry a status. The signature is HMAC-SHA256 of the SMS id, written
base64url without padding (43 characters).

The key is `SMSBOT_KPN__DELIVERY_SECRET` when set. Otherwise it is derived from the KPN client
secret (`SMSBOT_KPN__CLIENT_SECRET`) as HMAC-SHA256(client secret, DERIVATION_LABEL): the one
secret every deployment that sends through KPN has, whichever way it talks to Slack (Socket Mode
has no signing secret). The label keeps the derived key apart from every other use of the client
secret, and the client secret cannot be recovered from URLs. The price: rotating the client
secret (or the delivery secret) turns away reports for SMS sent before the rotation, until KPN
gives up retrying them (about 7 minutes); set `SMSBOT_KPN__DELIVERY_SECRET` to rotate the two
independently.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

from smsbot.errors import ConfigurationError
from smsbot.settings import Settings

DELIVERY_ROUTE = "/kpn/delivery/{sms_id}"
SIGNATURE_PARAMETER = "sig"
DERIVATION_LABEL = b"smsbot delivery-report URL signature key v1"


def delivery_key(settings: Settings) -> bytes:
    """The signing key: the delivery secret, else one derived from the KPN client secret."""
    if settings.kpn.delivery_secret is not None:
        return settings.kpn.delivery_secret.get_secret_value().encode()
    if settings.kpn.client_secret is not None:
        secret = settings.kpn.client_secret.get_secret_value().encode()
        return hmac.new(secret, DERIVATION_LABEL, hashlib.sha256).digest()
    raise ConfigurationError(
        "SMSBOT_PUBLIC_URL is set, so every SMS carries a signed delivery-report URL, but there "
        "is no key to sign it with. Set SMSBOT_KPN__DELIVERY_SECRET (any long random string) or "
        "SMSBOT_KPN__CLIENT_SECRET."
    )


class DeliveryUrls:
    """Issues and checks delivery-report URLs under one public base URL and key."""

    def __init__(self, public_url: str, key: bytes) -> None:
        if not key:
            raise ConfigurationError(
                "SMSBOT_KPN__DELIVERY_SECRET is empty; give it a long random string or unset it."
            )
        self.public_url = public_url.rstrip("/")
        self._key = key

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryUrls | None:
        """None when `SMSBOT_PUBLIC_URL` is unset: then no send asks for delivery reports."""
        if settings.public_url is None:
            return None
        if settings.kpn.webhook_url:
            raise ConfigurationError(
                "SMSBOT_PUBLIC_URL and SMSBOT_KPN__WEBHOOK_URL are both set. With "
                "SMSBOT_PUBLIC_URL every SMS carries its own signed delivery-report URL and smsbot "
                "records the reports; unset SMSBOT_KPN__WEBHOOK_URL (or SMSBOT_PUBLIC_URL, to "
                "keep sending every report to that one URL, which smsbot does not read)."
            )
        return cls(settings.public_url, delivery_key(settings))

    def signature(self, sms_id: str | int) -> str:
        digest = hmac.new(self._key, str(sms_id).encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def url_for(self, sms_id: str | int) -> str:
        path = DELIVERY_ROUTE.format(sms_id=quote(str(sms_id), safe=""))
        return f"{self.public_url}{path}?{SIGNATURE_PARAMETER}={self.signature(sms_id)}"

    def verify(self, sms_id: str | int, signature: str | None) -> bool:
        """True when `signature` is the one `url_for(sms_id)` carries; compared in constant
        time, so a forger learns nothing from how long a refusal takes."""
        if not signature:
            return False
        expected = self.signature(sms_id).encode()
        return hmac.compare_digest(expected, signature.encode("utf-8", "replace"))
