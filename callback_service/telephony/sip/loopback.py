"""A complete SIP network on 127.0.0.1 for tests and the demo: Kamailio plus simulated citizens.

    with start_loopback_network({"happy": CitizenBehaviour(...), "busy": CitizenBehaviour("busy")}) as net:
        dialer = SipDialer(net.dialer_settings(prompts_dir))
        dialer.call(CallRequest(..., phone_e164=net.number("happy"), ...))

Every port (SIP and RTP) is chosen at run time, so several networks and a local Asterisk can run
side by side. Everything is stopped on exit, including after a failed start.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from callback_service.telephony.sip.citizen import CitizenBehaviour, CitizenPool, SimulatedCitizen
from callback_service.telephony.sip.dialer import SipDialerSettings
from callback_service.telephony.sip.phone import SipAccount
from callback_service.telephony.sip.registrar import KamailioRegistrar

DIALER_USERNAME = "callback"
UNREGISTERED_NUMBER = "+8613800000000"    # valid-looking, never registered on the loopback network


@dataclass
class LoopbackNetwork:
    registrar: KamailioRegistrar
    pool: CitizenPool
    dialer_account: SipAccount

    def number(self, scenario: str) -> str:
        return self.pool.number(scenario)

    def citizen(self, scenario: str) -> SimulatedCitizen:
        return self.pool.citizens[scenario]

    @property
    def unregistered_number(self) -> str:
        return UNREGISTERED_NUMBER

    def dialer_settings(self, prompts_dir: Path, **overrides: Any) -> SipDialerSettings:
        """Settings for a ``SipDialer`` that registers on this network."""
        return replace(SipDialerSettings(account=self.dialer_account, prompts_dir=prompts_dir), **overrides)


@contextmanager
def start_loopback_network(scenarios: dict[str, CitizenBehaviour], *,
                           host: str = "127.0.0.1") -> Iterator[LoopbackNetwork]:
    with ExitStack() as stack:
        registrar = stack.enter_context(KamailioRegistrar(host=host))
        pool = CitizenPool(host, registrar.port, scenarios, local_ip=host)
        pool.start()
        stack.callback(pool.stop)
        account = SipAccount(host, registrar.port, DIALER_USERNAME, local_ip=host,
                             rtp_port_low=pool.rtp_base, rtp_port_high=pool.rtp_base + pool.PORTS_PER_PHONE - 1)
        yield LoopbackNetwork(registrar, pool, account)
