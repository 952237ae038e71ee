"""`callback-service run` arguments and role checks, and queue naming: fail at start-up, not later."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from callback_service.app import build_app
from callback_service.config import load_settings
from callback_service.pipeline.broker import QueueError, QueueNames
from callback_service.pipeline.service import Service, ServiceConfig, ServiceError, add_run_parser, config_from_args
from callback_service.pipeline.status import add_status_parser


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    add_run_parser(sub)
    add_status_parser(sub)
    return parser.parse_args(argv)


def test_run_defaults_to_everything_in_one_process() -> None:
    config = config_from_args(_parse("run"))
    assert config.role == "all" and config.queues == ("dial", "transcribe", "score", "tickets") and config.web


def test_worker_queues_and_threads_are_parsed() -> None:
    config = config_from_args(_parse("run", "--role", "worker", "--queues", "dial", "--threads", "dial=8",
                                     "--grace-seconds", "300"))
    assert config.queues == ("dial",) and config.threads == {"dial": 8} and config.grace_s == 300


@pytest.mark.parametrize("threads", ["dial", "dial=0", "fax=2", "dial=x"])
def test_bad_thread_counts_are_refused(threads: str) -> None:
    with pytest.raises(ServiceError):
        config_from_args(_parse("run", "--threads", threads))


def test_unknown_role_is_refused_by_the_parser() -> None:
    with pytest.raises(SystemExit):
        _parse("run", "--role", "dialer")


@pytest.mark.parametrize("role", ["scheduler", "worker"])
def test_scheduler_and_worker_roles_need_a_broker(tmp_path: Path, role: str) -> None:
    app = build_app(load_settings(env={}, var_dir=tmp_path, secret_key="k"))
    with pytest.raises(ServiceError, match="broker_url"):
        Service(app, ServiceConfig(role=role, queues=("score",)))


def test_unknown_queues_are_refused(tmp_path: Path) -> None:
    app = build_app(load_settings(env={}, var_dir=tmp_path, secret_key="k", broker_url="amqp://127.0.0.1"))
    with pytest.raises(ServiceError, match="fax"):
        Service(app, ServiceConfig(role="worker", queues=("fax",)))


def test_queue_prefixes_keep_runs_apart_and_refuse_odd_names() -> None:
    assert QueueNames("t1").queue("dial") == "t1_dial" and QueueNames().queue("score") == "score"
    with pytest.raises(QueueError):
        QueueNames("Bad-Prefix")
    with pytest.raises(QueueError):
        QueueNames().queue("fax")


def test_the_simulated_network_is_refused_for_a_running_service(tmp_path: Path) -> None:
    app = build_app(load_settings(env={}, var_dir=tmp_path, secret_key="k", dialer="simulated"))
    with pytest.raises(ServiceError, match="demo"):
        Service(app, ServiceConfig(role="all"))
