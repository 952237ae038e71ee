"""The private Kamailio used by the SIP loopback network: start, readiness, isolation, cleanup."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from callback_service.telephony.sip.registrar import KamailioRegistrar, RegistrarError, sip_options_ping

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_two_registrars_answer_on_their_own_ports_and_leave_nothing_behind() -> None:
    with KamailioRegistrar() as first, KamailioRegistrar() as second:
        assert first.port != second.port
        assert sip_options_ping("127.0.0.1", first.port) and sip_options_ping("127.0.0.1", second.port)
        pid, runtime = first._proc.pid, first.runtime_dir   # type: ignore[union-attr]
        assert runtime is not None and (runtime / "kamailio.pid").is_file()
    assert not _alive(pid) and not runtime.exists()
    assert not sip_options_ping("127.0.0.1", first.port, timeout_s=0.3)


def test_a_registrar_dropped_without_stop_is_still_reaped() -> None:
    registrar = KamailioRegistrar()
    registrar.start()
    proc, runtime = registrar._proc, registrar.runtime_dir
    assert proc is not None and runtime is not None
    del registrar                       # the owner forgot stop(): the finalizer must reap it
    assert proc.wait(timeout=10) is not None and not _alive(proc.pid) and not runtime.exists()


def test_missing_kamailio_is_a_clear_error() -> None:
    with pytest.raises(RegistrarError, match="not installed"):
        KamailioRegistrar(binary="kamailio-does-not-exist").start()


def test_a_taken_port_is_refused_instead_of_shared() -> None:
    with KamailioRegistrar() as running:
        clash = KamailioRegistrar(port=running.port, startup_timeout_s=5)
        try:
            with pytest.raises(RegistrarError, match="already in use"):
                clash.start()
            assert clash.runtime_dir is None and not clash.running
        finally:
            clash.stop()


def test_a_broken_config_fails_start_up_with_kamailios_own_words(tmp_path: Path) -> None:
    config = tmp_path / "broken.cfg"
    config.write_text("#!KAMAILIO\nloadmodule \"no_such_module.so\"\nrequest_route { exit; }\n")
    registrar = KamailioRegistrar(config=config, startup_timeout_s=5)
    with pytest.raises(RegistrarError, match="no_such_module"):
        registrar.start()
    assert registrar.runtime_dir is None and not registrar.running
