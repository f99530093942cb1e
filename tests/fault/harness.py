"""The fault suite's real parts: a Redis of its own, Celery worker processes, the fake Twilio, a shared clock.

Each module gets its own ``redis-server`` (started here on a free port, never the machine's shared one),
so stopping or restarting it disturbs nobody else. The workers are the product's Celery app in
subprocesses (``tests/fault/worker_app.py``), on the pytest database and that Redis, sending texts
through the real Twilio SDK to the fake Twilio running in the test process. The test process publishes
to the same Redis, so what it commits is what the workers run.

Time: the product waits for leases (60 s), grace periods (60 s), reconciliation (2 min) and backoffs.
The workers read a clock offset before every task (``SharedClock``), so a test moves time forward
instead of sleeping. Waits in these tests are for something to happen, with a deadline; nothing
asserts how long anything took.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import psycopg2
import pytest
import redis
import time_machine
from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import pools as kombu_pools

from config.celery import app as celery_app
from demo.fakes.twilio import FakeTwilio
from dispatch.models import Recipient, Stop
from exceptions import workflow
from outreach.models import Message
from tests.helpers import asked, database_url_for_others, fail, free_port

ROOT = Path(__file__).resolve().parents[2]
QUEUES = ("default", "outreach", "routing")
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-auth-token"
FROM_NUMBER = "+13125550000"
# Above the time a test needs to kill a worker that is inside a stalled POST.
WORKER_HTTP_TIMEOUT = 20.0
WAIT = 30.0

T = TypeVar("T")


def wait_for(condition: Callable[[], T], *, what: str, timeout: float = WAIT, interval: float = 0.05) -> T:
    """Poll until ``condition`` returns something truthy, and return it; fail naming ``what`` after the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# --- Redis --------------------------------------------------------------------------------------------------------


class RedisServer:
    """A ``redis-server`` of the suite's own, without persistence: a restart loses everything, as a crash would."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            pytest.fail("The fault suite starts Redis servers of its own: apt install redis-server.")
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis.from_url(self.url(db), socket_timeout=5)

    def start(self) -> RedisServer:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--dir", str(self.directory), "--logfile", str(self.directory / "redis.log")]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._answers, what=f"redis-server on port {self.port}", timeout=10)
        return self

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def broker_switch(url: str) -> None:
    """Point the app at another broker; its pooled connections to the old one go (not ``app.close()``, which
    would also unregister the app from the tasks defined later)."""
    app: Any = celery_app
    app.conf.broker_url = url
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    # Kombu keeps its producer pools by connection: the one for the broker we come back to holds the closed pool.
    kombu_pools.reset()


def queues_purge(server: RedisServer) -> None:
    """Empty the task queues (and their priority lists) between tests; the workers' bindings stay."""
    client = server.client()
    for key in client.scan_iter():
        if key.split(b"\x06\x16")[0].decode(errors="replace") in QUEUES:
            client.delete(key)


def realtime_on(redis_server: RedisServer, settings: Any, *, prefix: str) -> None:
    """The test process's cache (board numbers) and channel layer on the suite's Redis, like the other processes."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_server.url(),
            "KEY_PREFIX": prefix,
        }
    }
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": redis_server.url(), "socket_timeout": 15}],
                "prefix": f"{prefix}:ws",
                "capacity": 1000,
                "expiry": 60,
            },
        }
    }


# --- The shared clock ---------------------------------------------------------------------------------------------


def _ahead_of_the_machine() -> float:
    """Seconds this process's clock runs ahead of the machine's: 0, unless it was moved (a year ahead, say)."""
    if not time_machine.escape_hatch.is_travelling():
        return 0.0
    return time.time() - time_machine.escape_hatch.time.time()


class SharedClock:
    """Seconds the workers' clocks run ahead of this process's (tests/fault/worker_app.py reads them before each task).

    The file holds the workers' lead on the machine's clock: this process's own lead (when its clock was
    moved) plus ``offset``, so the workers keep this process's time whatever clock they started on.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.set(0.0)

    @property
    def offset(self) -> float:
        return float(self.path.read_text()) - _ahead_of_the_machine()

    def set(self, seconds: float) -> None:
        scratch = self.path.with_suffix(".new")
        scratch.write_text(repr(seconds + _ahead_of_the_machine()))
        os.replace(scratch, self.path)

    def now(self) -> dt.datetime:
        return timezone.now() + dt.timedelta(seconds=self.offset)

    def advance(self, seconds: float) -> dt.datetime:
        self.set(self.offset + seconds)
        return self.now()

    def advance_past(self, moment: dt.datetime, *, margin: float = 0.5) -> dt.datetime:
        """Move the workers' clock just past ``moment`` (never back)."""
        self.set(max(self.offset, (moment - timezone.now()).total_seconds() + margin))
        return self.now()


# --- The fake Twilio ----------------------------------------------------------------------------------------------


class FaultTwilio(FakeTwilio):
    """The fake Twilio for a module's tests: it also notes when each POST came (on the shared clock) and can be down.

    ``down_until``: every POST before then (on the shared clock) is answered 500, Twilio broken for a while.
    """

    def __init__(self, clock: SharedClock) -> None:
        self.clock = clock
        self.posted_at: list[dt.datetime] = []
        self.down_until: dt.datetime | None = None
        super().__init__()

    def _next(self, params: dict[str, str]) -> tuple[Any, dict[str, str]]:
        now = self.clock.now()
        with self._lock:
            self.posts.append(params)
            self.posted_at.append(now)
            down = self.down_until is not None and now < self.down_until
        if down:
            return 500, params
        return self._next_answer(), params

    def reset(self) -> None:
        with self._lock:
            self.posts.clear()
            self.posted_at.clear()
            self.accepted.clear()
            self._script.clear()
            self.down_until = None

    def posts_to(self, phone: Any) -> list[dict[str, str]]:
        with self._lock:
            return [post for post in self.posts if post.get("To") == str(phone)]

    def accepted_to(self, phone: Any) -> list[dict[str, str]]:
        with self._lock:
            return [message for message in self.accepted if message.get("To") == str(phone)]


# --- Celery workers -----------------------------------------------------------------------------------------------

RECEIVED = re.compile(r"Task (?P<name>[\w.]+)\[(?P<id>[\w-]+)\] received")
SUCCEEDED = re.compile(r"Task (?P<name>[\w.]+)\[(?P<id>[\w-]+)\] succeeded in [\d.e-]+s: (?P<result>.*)")


class Worker:
    """One ``celery worker`` process (solo pool: the process is the one running the task, as kill -9 needs)."""

    def __init__(self, name: str, *, directory: Path, environment: dict[str, str], queues: tuple[str, ...]) -> None:
        self.name = name
        self.queues = queues
        # One log per process, even when a test starts another worker of the same name.
        runs = len(list(directory.glob(f"{name}.*.log")))
        self.log_path = directory / f"{name}.{runs + 1}.log"
        self.ready_path = directory / f"{name}.{runs + 1}.ready"
        self.environment = {**environment, "FAULT_PROCESS_NAME": name, "FAULT_READY_FILE": str(self.ready_path)}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        self.launch()
        self.wait_ready()
        return self

    def launch(self) -> None:
        self.ready_path.unlink(missing_ok=True)
        command = [sys.executable, "-m", "celery", "-A", "tests.fault.worker_app", "worker", "--pool=solo",
                   "-Q", ",".join(self.queues), "-n", f"{self.name}@fault", "--loglevel=INFO",
                   "--without-heartbeat", "--without-gossip", "--without-mingle"]  # fmt: skip
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self) -> None:
        wait_for(self._ready, what=f"worker {self.name} to start", timeout=60)

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            pytest.fail(f"Worker {self.name} exited:\n{self.log_tail}")
        return self.ready_path.exists()

    def kill(self) -> None:
        """kill -9: no warm shutdown, no ack, no cleanup."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        self.reap()

    def reap(self) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    @property
    def log_tail(self) -> str:
        return self.log[-4000:]

    def received(self, task: str) -> int:
        return sum(1 for match in RECEIVED.finditer(self.log) if match["name"] == task)

    def results(self, task: str) -> list[str]:
        return [match["result"].strip() for match in SUCCEEDED.finditer(self.log) if match["name"] == task]


class Workers:
    """Starts a module's workers (all on the suite's Redis, the test database and the fake Twilio); stops them after."""

    def __init__(self, *, directory: Path, redis_server: RedisServer, twilio: FakeTwilio, clock: SharedClock) -> None:
        self.directory = directory
        self.all: list[Worker] = []
        self.environment = {
            **{key: value for key, value in os.environ.items() if not key.startswith(("CELERY_", "TWILIO_"))},
            "DJANGO_SETTINGS_MODULE": "tests.fault.worker_settings",
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": database_url_for_others(),
            "DB_CONN_MAX_AGE": "0",  # the test database is flushed between tests and dropped at the end
            "REDIS_URL": redis_server.url(),
            "CACHE_KEY_PREFIX": "fault",
            "CHANNEL_LAYER_PREFIX": "fault:ws",
            "TWILIO_API_BASE_URL": twilio.url,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": FROM_NUMBER,
            "TWILIO_HTTP_TIMEOUT": str(WORKER_HTTP_TIMEOUT),
            "EXCEPTIONS_OUTREACH": "outreach.adapter.SmsOutreach",
            "EXCEPTIONS_ROUTING": "routing.adapter.SolverRouting",
            "FAULT_CLOCK_FILE": str(clock.path),
        }

    def start(self, *names: str, queues: tuple[str, ...] = QUEUES) -> list[Worker]:
        """Start workers side by side (each takes seconds to import the product) and wait until all are ready."""
        started = [
            Worker(name, directory=self.directory, environment=self.environment, queues=queues) for name in names
        ]
        self.all.extend(started)
        for worker in started:
            worker.launch()
        for worker in started:
            worker.wait_ready()
        return started

    def stop_all(self) -> None:
        running = [worker for worker in self.all if worker.process is not None and worker.process.poll() is None]
        for worker in running:
            assert worker.process is not None
            worker.process.terminate()
        for worker in running:
            worker.reap()


# --- The database, seen from outside -----------------------------------------------------------------------------


@contextmanager
def side_transaction() -> Iterator[Any]:
    """A transaction on a connection of its own (another client of the database), rolled back at the end."""
    db = settings.DATABASES["default"]
    conn = psycopg2.connect(
        dbname=db["NAME"],
        user=db["USER"] or None,
        password=db.get("PASSWORD") or None,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        application_name="fault-test-holder",
    )
    try:
        with conn.cursor() as cursor:
            yield cursor
    finally:
        conn.rollback()
        conn.close()


def waiting_on_a_lock(*process_names: str) -> int:
    """How many of these processes' database sessions are waiting for a lock right now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = ANY(%s) AND wait_event_type = 'Lock'",
            [list(process_names)],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


# --- Data ---------------------------------------------------------------------------------------------------------


def reachable_any_time(stop: Stop) -> Recipient:
    """No quiet hours for the stop's recipient: a question goes out whatever the time of day the suite runs."""
    recipient: Recipient = stop.order.recipient
    Recipient.objects.filter(pk=recipient.pk).update(quiet_hours_start=dt.time(0, 0), quiet_hours_end=dt.time(0, 0))
    recipient.refresh_from_db()
    return recipient


def question_asked(stop: Stop) -> Any:
    """Fail the stop (a real scan) and triage it here, as the triage task would: the question is queued.

    Returns the question (a ``Message``). Its send was published at commit, to whatever consumes ``outreach``.
    """
    reachable_any_time(stop)
    return asked(stop)


def question_held(stop: Stop) -> Any:
    """Like ``question_asked``, but in the recipient's quiet hours: the question waits, nothing is published."""
    local = timezone.localtime(timezone.now(), stop.run.depot.time_zone)
    Recipient.objects.filter(pk=stop.order.recipient_id).update(
        quiet_hours_start=(local - dt.timedelta(hours=1)).time(), quiet_hours_end=(local + dt.timedelta(hours=1)).time()
    )
    case = fail(stop)
    workflow.case_triage(case_id=case.pk)
    message = Message.objects.get(conversation__case=case)
    assert message.release_at is not None, "the question should wait for the end of the quiet hours"
    return message
