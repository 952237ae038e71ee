"""The one wrapper around the task queue: Dramatiq on RabbitMQ (default) or Redis.

Messages carry one row id each; the database says what is left to do. Dramatiq acknowledges a
message only after its actor has returned (acks-late), and RabbitMQ queues and messages are durable,
so a worker killed mid-stage leaves its message to be redelivered. The stages are idempotent, so a
redelivery of finished work is a no-op. Library errors become ``QueueError`` (transient or not).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.errors import BrokerError
from dramatiq.middleware import default_middleware

log = logging.getLogger(__name__)
# pika logs every connection step at INFO; its warnings and errors still come through.
logging.getLogger("pika").setLevel(logging.WARNING)

STAGES = ("dial", "transcribe", "score", "tickets")
_PREFIX_RE = re.compile(r"[a-z][a-z0-9_]{0,30}")
# Retries of a failed stage (a database hiccup) come back fast; the sweep covers anything beyond.
_RETRY_OPTIONS = {"max_retries": 8, "min_backoff": 1_000, "max_backoff": 60_000}
# A dial blocks for the whole call: Dramatiq's time limit would interrupt a live call, so it is off.
_TIME_LIMIT_MS = {"dial": 24 * 3_600_000, "transcribe": 15 * 60_000, "score": 5 * 60_000, "tickets": 5 * 60_000}


class QueueError(Exception):
    """The broker could not take or give a message."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


def _library_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [BrokerError, OSError]
    try:
        import pika.exceptions
        errors.append(pika.exceptions.AMQPError)
    except ImportError:  # pragma: no cover - pika is a dramatiq[rabbitmq] dependency
        pass
    try:
        import redis.exceptions
        errors.append(redis.exceptions.RedisError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


LIBRARY_ERRORS = _library_errors()


def redact(url: str) -> str:
    return re.sub(r"//([^:/@]*):[^@]*@", r"//\1:***@", url)


def make_broker(url: str, prefix: str = "") -> dramatiq.Broker:
    """A fresh broker (its own connections) for ``amqp(s)://`` or ``redis(s)://`` URLs."""
    scheme = url.split(":", 1)[0].lower()
    middleware = [m() for m in default_middleware]
    if scheme in ("amqp", "amqps"):
        return RabbitmqBroker(url=url, confirm_delivery=True, middleware=middleware)
    if scheme in ("redis", "rediss"):
        from dramatiq.brokers.redis import RedisBroker
        return RedisBroker(url=url, namespace=f"callback{prefix}", middleware=middleware)
    raise QueueError(f"broker_url {redact(url)!r}: use amqp://, amqps://, redis:// or rediss://", transient=False)


class QueueNames:
    """Queue and actor names, optionally prefixed so that test runs never share a queue."""

    def __init__(self, prefix: str = "") -> None:
        if prefix and not _PREFIX_RE.fullmatch(prefix):
            raise QueueError(f"queue prefix {prefix!r}: lower-case letters, digits and _ only", transient=False)
        self.prefix = f"{prefix}_" if prefix else ""

    def queue(self, stage: str) -> str:
        if stage not in STAGES:
            raise QueueError(f"unknown stage {stage!r}", transient=False)
        return f"{self.prefix}{stage}"

    actor = queue


class QueueBus:
    """Publishes stage messages (ids only). Safe to share between threads."""

    def __init__(self, url: str, prefix: str = "") -> None:
        self.url, self.names = url, QueueNames(prefix)
        self._broker = make_broker(url, prefix)

    def publish(self, stage: str, ids: Iterable[int]) -> int:
        sent = 0
        for item in ids:
            message: dramatiq.Message[Any] = dramatiq.Message(
                queue_name=self.names.queue(stage), actor_name=self.names.actor(stage), args=(int(item),),
                kwargs={}, options={})
            try:
                self._broker.enqueue(message)
            except LIBRARY_ERRORS as exc:
                raise QueueError(f"cannot enqueue {stage} {item} on {redact(self.url)}: "
                                 f"{exc.__class__.__name__}: {exc}") from exc
            sent += 1
        return sent

    def close(self) -> None:
        try:
            self._broker.close()
        except LIBRARY_ERRORS as exc:  # closing a dead connection must not stop a shutdown
            log.info("closing the broker connection: %s", exc)


class StageConsumer:
    """One Dramatiq worker for one stage's queue, on its own broker so its thread count is its own."""

    def __init__(self, url: str, names: QueueNames, stage: str, handler: Callable[[int], Any],
                 threads: int) -> None:
        self.stage, self.threads = stage, threads
        self.broker = make_broker(url, names.prefix.rstrip("_"))
        options = {**_RETRY_OPTIONS, "time_limit": _TIME_LIMIT_MS[stage]}
        dramatiq.Actor(handler, broker=self.broker, actor_name=names.actor(stage),
                       queue_name=names.queue(stage), priority=0, options=options)
        self.worker = dramatiq.Worker(self.broker, queues={names.queue(stage)}, worker_threads=threads,
                                      worker_timeout=500)

    def start(self) -> None:
        self.worker.start()
        log.info("consuming %s with %s threads", self.stage, self.threads)

    def stop(self, grace_s: float) -> None:
        """Finish in-flight messages (up to ``grace_s``); unstarted prefetched ones go back to the queue."""
        try:
            self.worker.stop(timeout=int(grace_s * 1000))
        except LIBRARY_ERRORS as exc:
            log.warning("stopping the %s consumer: %s", self.stage, exc)
        try:
            self.broker.close()
        except LIBRARY_ERRORS as exc:
            log.info("closing the %s broker: %s", self.stage, exc)
