"""The request worker on faust-streaming: the one module that knows the runtime.

Faust gives async agents with concurrency over a consumer group, which suits a stream whose
work waits on Redis and Triton. It gives at-least-once only: an event is acknowledged after
:meth:`RequestWorker.handle` returned, so a crash repeats a few requests, whose second
answer carries the same request id (consumers dedupe by it). Topics are created by
adcraft's own admin code (``topic_allow_declare=False``); no tables, no web server.
"""

from __future__ import annotations

import ssl
import time
from typing import cast

import faust
from faust.transport.drivers import aiokafka as driver

from adcraft.services.request_worker.worker import RequestWorker
from adcraft.shared.contract.sources import Source
from adcraft.shared.runtime.settings import KafkaSettings, Settings


def build(settings: Settings, worker: RequestWorker) -> faust.App:
    """The faust app: the request agent, the worker's heartbeat and background tasks
    (copy refills, Triton's batch sizes, Redis's health)."""
    config = settings.requests
    app = _App(
        config.group_id,
        broker=[f"kafka://{server}" for server in settings.kafka.bootstrap_servers.split(",")],
        broker_credentials=credentials(settings.kafka),
        store="memory://",
        web_enabled=False,
        autodiscover=False,
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.kafka.session_timeout_ms / 1000,
        broker_heartbeat_interval=settings.kafka.heartbeat_interval_ms / 1000,
        producer_acks=-1,
    )
    app.fetch_wait_max_ms = config.fetch_wait_max_ms
    requests = app.topic(
        worker.topics.requests,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )

    @app.agent(requests, concurrency=config.concurrency)
    async def answer(stream) -> None:  # type: ignore[no-untyped-def]
        async for event in stream.events():
            message = event.message
            source = Source(
                message.topic, message.partition, message.offset, message.key, message.value
            )
            try:
                await worker.handle(source)
            except Exception as exc:  # the broker refused an outcome: stop, exit non-zero
                worker.failed = f"publish failed: {type(exc).__name__}: {exc}"
                raise
            worker.highwater[message.partition] = app.consumer.highwater(message.tp)

    @app.timer(1.0)
    async def beat() -> None:
        worker.beat = time.monotonic()

    app.add_future(worker.watch_batches())
    app.add_future(worker.watch_redis())
    for _ in range(config.copy_concurrency):  # pool writes: never on the answering path
        app.add_future(worker.refiller.run())
    app.add_future(worker.refiller.sweep())  # copy ahead of demand
    worker.assigned = lambda: bool(app.consumer.assignment())
    return app


class _App(faust.App):
    """faust.App whose consumer lets the broker hold an empty fetch for
    ``fetch_wait_max_ms``: faust fixes it at 1,500 ms, which, measured here at 50 requests/s
    over 4 partitions, put ~390 ms on the median request (5 ms at 10 ms)."""

    fetch_wait_max_ms = 1_500

    def _new_transport(self) -> driver.Transport:
        return _Transport(self.conf.broker_consumer, self)


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    fetch_wait_max_ms = 1_500

    def _create_worker_consumer(
        self, transport: driver.Transport
    ) -> driver.aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.fetch_wait_max_ms  # read when the consumer starts
        return consumer


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        thread = _ConsumerThread(self, loop=self.loop, beacon=self.beacon)
        thread.fetch_wait_max_ms = cast(_App, self.app).fetch_wait_max_ms
        return thread


class _Transport(driver.Transport):
    Consumer = _Consumer


def credentials(settings: KafkaSettings) -> faust.types.auth.CredentialsT | None:
    """Faust's form of the Kafka authentication ``settings`` describe (None: plaintext)."""
    context = None
    if settings.security_protocol.endswith("SSL"):
        context = ssl.create_default_context(cafile=settings.ssl_ca_location)
        if settings.ssl_certificate_location and settings.ssl_key_location:
            password = settings.ssl_key_password
            context.load_cert_chain(
                settings.ssl_certificate_location,
                settings.ssl_key_location,
                password.get_secret_value() if password else None,
            )
    if settings.sasl_mechanism:
        secret = settings.sasl_password
        return faust.SASLCredentials(
            username=settings.sasl_username,
            password=secret.get_secret_value() if secret else None,
            ssl_context=context,
            mechanism=settings.sasl_mechanism,
        )
    return faust.SSLCredentials(context) if context else None
