"""Build the SIP dialer from validated Settings (called by the composition root, ``app.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from callback_service.telephony.sip.dialer import SipDialer, SipDialerSettings

if TYPE_CHECKING:
    from callback_service.config import Settings


def build_sip_dialer(settings: Settings) -> SipDialer:
    """Not registered yet: the first call (or ``SipDialer.start()``) registers."""
    return SipDialer(SipDialerSettings.from_settings(settings))
