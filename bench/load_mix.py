"""A 2,000-stop depot's peak hour, times ten: the driver app and the live board together, against production ASGI.

    .venv/bin/python bench/load_mix.py --seconds 60 --scale 10 [--record]

The rates come from the stated assumptions (ASSUMPTIONS below: one depot of
2,000 stops, 40 drivers and 5 dispatchers at its peak hour), multiplied by
--scale. The bench seeds the demo depot in a scratch database with 40 times --scale
drivers (one API token each) and opens the morning's backlog of cases through
the scan service, signs in 5 times --scale dispatchers, starts Uvicorn with
config.settings.production (2 workers, its stderr in a log file), and then
plays, open loop (a slow answer never slows the senders), one schedule of:

- ``POST /api/v1/driver/stops/{id}/scans``: mostly delivered, some failed with a reason code, each on a fresh stop;
- ``POST /api/v1/driver/locations``: every phone's GPS batch at a fixed interval, phones evenly out of phase;
- ``GET /api/v1/driver/instructions?after=``: every phone's feed poll, with the cursor of its last answer;
- the boards: each dispatcher opens ``/ws/board/``, waits for the greeting, loads ``GET /api/v1/board/snapshot``
  and listens to the end of the run.

It reports, per endpoint, the target and achieved rates, p50/p95/p99, non-2xx
answers and transport errors; for the boards, the frames due (every numbered
event after a board's greeting), received, missed, early closes, and the time
from a failed scan's POST to its case frame. Everything the server accepted is
checked in the database afterwards (one scan per accepted key, one case per
failed scan, one batch per accepted upload). Scratch database and Redis
database 6 (flushed before and after) are the bench's own.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import platform
import random
import resource
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.board_fanout import sessions_open  # noqa: E402
from bench.scan_load import percentile, prepare, server_env  # noqa: E402
from bench.scratch import results_record, uvicorn_serving  # noqa: E402

REDIS_DB_URL = "redis://127.0.0.1:6379/6"
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/dispatch_loadbench"

# --- The assumptions: one depot at its peak hour (x 1) --------------------------------------------------------------

STOPS_PER_DAY = 2000
DRIVERS = 40
DISPATCHERS = 5
PEAK_SHARE = 0.15  # of the day's stops scanned in the peak hour (8.5 h on the road: 12 % an hour on average)
FAILED_SHARE = 0.08  # first attempts that fail
PING_UPLOAD_S = 10.0  # each phone uploads its GPS batch this often...
PING_SAMPLE_S = 5.0  # ...of fixes taken this often
POLL_S = 15.0  # each phone polls its instruction feed this often
DONE_BEFORE_PEAK = 0.40  # of the day's stops attempted before the peak hour; their failures' cases are still open
BOARD_RAMP_S = 10.0  # the boards open (socket, then snapshot) within the first seconds of the run: a shift change
WARMUP_S = 3.0  # pings and polls at the target rates before the measured run (a peak hour starts warm)
# Failed scans without a photo (the photo-required codes would add a multipart upload and a file write).
REASONS = [("RECIPIENT_ABSENT", 45), ("ACCESS_DENIED", 25), ("WRONG_ACCESS_CODE", 10), ("ADDRESS_NOT_FOUND", 8),
           ("UNSAFE_LOCATION", 7), ("REFUSED", 5)]  # fmt: skip
MAX_SEED_STOPS = 10_000  # demo.day.depot's limit
MAX_SEED_DRIVERS = 500
X = "\N{MULTIPLICATION SIGN}"

EXPECTED = {"scan delivered": 201, "scan failed": 201, "locations": 202, "instructions": 200, "snapshot": 200}
PATHS = {
    "scan delivered": "POST /api/v1/driver/stops/{id}/scans (delivered)",
    "scan failed": "POST /api/v1/driver/stops/{id}/scans (failed)",
    "locations": "POST /api/v1/driver/locations",
    "instructions": "GET /api/v1/driver/instructions",
    "snapshot": "GET /api/v1/board/snapshot",
}


@dataclass(frozen=True)
class Rates:
    scale: float
    scans: float  # per second
    failed: float
    uploads: float
    pings: float
    polls: float
    boards: int
    backlog: int  # open cases when the boards load
    phones: int

    @classmethod
    def derive(cls, scale: float) -> Rates:
        scans = STOPS_PER_DAY * PEAK_SHARE / 3600
        return cls(
            scale=scale,
            scans=scans * scale,
            failed=scans * FAILED_SHARE * scale,
            uploads=DRIVERS / PING_UPLOAD_S * scale,
            pings=DRIVERS / PING_SAMPLE_S * scale,
            polls=DRIVERS / POLL_S * scale,
            boards=round(DISPATCHERS * scale),
            backlog=round(STOPS_PER_DAY * DONE_BEFORE_PEAK * FAILED_SHARE * scale),
            phones=round(DRIVERS * scale),
        )


def assumptions(rates: Rates) -> list[str]:
    one = Rates.derive(1)
    s = rates.scale
    return [
        f"{X} 1 is one depot: {STOPS_PER_DAY:,} stops a day, {DRIVERS} drivers (one phone each), {DISPATCHERS} "
        "dispatchers.",
        f"Scans: the peak hour carries {PEAK_SHARE:.0%} of the day's stops (8.5 h on the road: 12 % an hour on "
        f"average) → {STOPS_PER_DAY * PEAK_SHARE:.0f} scans/h = {one.scans:.4f}/s; {FAILED_SHARE:.0%} fail "
        f"({one.failed:.4f}/s) with a reason code that needs no photo ({', '.join(code for code, _ in REASONS)}, "
        f"weighted), the rest are delivered; each scan on a fresh stop. {X} "
        f"{s:g}: **{rates.scans:.3f} scans/s** ({rates.failed:.3f} failed/s).",
        f"GPS: each phone uploads a batch every {PING_UPLOAD_S:g} s of fixes taken every {PING_SAMPLE_S:g} s → "
        f"{DRIVERS}/{PING_UPLOAD_S:g} = {one.uploads:.2f} uploads/s ({one.pings:.0f} fixes/s). {X} {s:g}: "
        f"**{rates.uploads:.1f} uploads/s** ({rates.pings:.0f} fixes/s).",
        f"Instructions: each phone polls its feed every {POLL_S:g} s with its cursor → {DRIVERS}/{POLL_S:g} = "
        f"{one.polls:.2f} polls/s. {X} {s:g}: **{rates.polls:.1f} polls/s**.",
        f"Boards: {DISPATCHERS} dispatchers, each with one board socket and one first snapshot. {X} {s:g}: "
        f"**{rates.boards} sockets and {rates.boards} snapshots**, opened evenly over the first {BOARD_RAMP_S:g} s "
        "(a shift change: harsher than a peak hour, when boards are already open).",
        f"Backlog: {DONE_BEFORE_PEAK:.0%} of the stops attempted before the peak hour, their failures' cases still "
        f"open → {one.backlog} open cases. {X} {s:g}: **{rates.backlog} open cases** in each snapshot, opened "
        "through the scan service before the server starts.",
        f"{X} {s:g} is one depot {s:g} times the size ({rates.phones} drivers), not {s:g} depots: every board "
        f"receives every case frame ({rates.failed:.3f} failed scans/s {X} {rates.boards} boards = "
        f"{rates.failed * rates.boards:.1f} frames/s) and every snapshot holds the whole backlog, the harsher reading.",
        f"Total HTTP: {rates.scans + rates.uploads + rates.polls:.1f} requests/s plus the snapshots; driver "
        "throttle at its production default (600/min per driver; a phone sends about 10/min). No Celery worker "
        f"runs: triage of the new cases (more case frames) is not in the load. Warm-up: {WARMUP_S:g} s of pings "
        "and polls before the measured run.",
    ]


# --- Preparing ----------------------------------------------------------------------------------------------------


def backlog_open(plan: list[tuple[str, list[int]]], count: int, rng: random.Random) -> list[tuple[str, list[int]]]:
    """Fail the first ``count`` stops (round robin over the drivers) through the scan service; return what is left."""
    from django.utils import timezone

    from dispatch.models import ReasonCode, Stop
    from dispatch.services.scans import scan_record

    reasons = ReasonCode.objects.in_bulk([code for code, _ in REASONS], field_name="code")
    queues = [list(ids) for _, ids in plan]
    chosen: list[int] = []
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    stops = Stop.objects.select_related("run__driver").in_bulk(chosen)
    for stop_id in chosen:
        code = rng.choices([c for c, _ in REASONS], weights=[w for _, w in REASONS])[0]
        scan_record(
            driver=stops[stop_id].run.driver,
            stop_id=stop_id,
            outcome="failed",
            reason=reasons[code],
            device_time=timezone.now() - dt.timedelta(minutes=rng.randint(5, 240)),
            latitude=41.88,
            longitude=-87.66,
            notes="",
            photo=None,
            idempotency_key=uuid.uuid4().hex,
        )
    return [(key, queue) for (key, _), queue in zip(plan, queues, strict=True)]


@dataclass(frozen=True)
class Event:
    at: float  # seconds after the start
    kind: str  # scan, locations, instructions, board
    phone: int
    outcome: str = ""


def schedule(rates: Rates, seconds: float, *, boards: bool, scans: bool) -> list[Event]:
    """Every request of the run at its due time: the phones evenly out of phase, scans at a fixed interval."""
    events: list[Event] = []
    phones = rates.phones
    for phone in range(phones):
        for interval, kind, shift in ((PING_UPLOAD_S, "locations", 0.0), (POLL_S, "instructions", 0.5)):
            at = (phone + shift) * interval / phones
            while at < seconds:
                events.append(Event(at, kind, phone))
                at += interval
    if scans:
        share = rates.failed / rates.scans
        order = list(range(phones))
        random.Random(11).shuffle(order)
        for index in range(int(rates.scans * seconds)):
            # Exactly the failed share, spread evenly (the first one half a period in): scan i fails when
            # round(share * n) steps up at n = i + 1.
            failed = math.floor((index + 1) * share + 0.5) > math.floor(index * share + 0.5)
            events.append(
                Event(index / rates.scans, "scan", order[index % phones], "failed" if failed else "delivered")
            )
    if boards:
        events.extend(Event(index * BOARD_RAMP_S / rates.boards, "board", index) for index in range(rates.boards))
    return sorted(events, key=lambda event: event.at)


# --- Running ------------------------------------------------------------------------------------------------------


@dataclass
class Stream:
    target: float
    sent: int = 0
    latencies: list[float] = field(default_factory=list)  # ms, every answer
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


@dataclass
class Boards:
    connect_ms: list[float] = field(default_factory=list)  # ws_connect → greeting
    hello: dict[int, int] = field(default_factory=dict)  # board → its depot's number at the greeting
    seqs: dict[int, list[int]] = field(default_factory=dict)
    frames: Counter[str] = field(default_factory=Counter)
    arrivals: list[tuple[int, int, float]] = field(default_factory=list)  # (board, case, when)
    closed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    snapshot_bytes: list[int] = field(default_factory=list)
    snapshot_cases: list[int] = field(default_factory=list)


async def run(
    *,
    base: str,
    depot_id: int,
    plan: list[tuple[str, list[int]]],
    sessions: list[str],
    rates: Rates,
    seconds: float,
    rng: random.Random,
) -> dict[str, Any]:
    import aiohttp

    from dispatch import realtime

    keys = [plan[phone % len(plan)][0] for phone in range(rates.phones)]
    stops = {key: list(ids) for key, ids in plan}  # fresh stops left per driver, in sequence
    cursors = [0] * rates.phones
    streams = {
        "scan delivered": Stream(rates.scans - rates.failed),
        "scan failed": Stream(rates.failed),
        "locations": Stream(rates.uploads),
        "instructions": Stream(rates.polls),
        "snapshot": Stream(rates.boards / seconds),
    }
    warm = {name: Stream(0) for name in streams}
    accepted: dict[str, list[str]] = {"scans": [], "failed": [], "locations": []}
    case_sent: dict[int, float] = {}
    boards = Boards()
    lag: list[float] = []
    finishing = asyncio.Event()
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    weights = [w for _, w in REASONS]
    timeout = aiohttp.ClientTimeout(total=30)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as http:

        async def call(stream: Stream, method: str, path: str, **kwargs: Any) -> tuple[int, bytes, float] | None:
            stream.sent += 1
            started = time.perf_counter()
            try:
                async with http.request(method, base + path, **kwargs) as response:
                    body = await response.read()
            except Exception as exc:
                stream.errors.append(repr(exc))
                return None
            stream.latencies.append((time.perf_counter() - started) * 1000)
            stream.statuses[response.status] += 1
            return response.status, body, started

        async def scan(phone: int, outcome: str, into: dict[str, Stream]) -> None:
            key = keys[phone]
            if not stops[key]:
                into[f"scan {outcome}"].errors.append(f"phone {phone}: no fresh stop left")
                return
            stop = stops[key].pop(0)
            body: dict[str, Any] = {
                "outcome": outcome,
                "device_time": dt.datetime.now(dt.UTC).isoformat(),
                "latitude": 41.88 + rng.uniform(-0.05, 0.05),
                "longitude": -87.66 + rng.uniform(-0.05, 0.05),
            }
            if outcome == "failed":
                body["reason_code"] = rng.choices([c for c, _ in REASONS], weights=weights)[0]
            idem = str(uuid.uuid4())
            headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": idem}
            answer = await call(into[f"scan {outcome}"], "POST", f"/api/v1/driver/stops/{stop}/scans",
                                json=body, headers=headers)  # fmt: skip
            if answer and answer[0] == 201:
                accepted["scans"].append(idem)
                case = json.loads(answer[1]).get("case_id")
                if case:
                    accepted["failed"].append(idem)
                    case_sent[int(case)] = answer[2]

        async def locations(phone: int, into: dict[str, Stream]) -> None:
            now = dt.datetime.now(dt.UTC)
            fixes = round(PING_UPLOAD_S / PING_SAMPLE_S)
            pings = [
                {
                    "at": (now - dt.timedelta(seconds=PING_SAMPLE_S * n)).isoformat(),
                    "latitude": 41.88 + rng.uniform(-0.1, 0.1),
                    "longitude": -87.66 + rng.uniform(-0.1, 0.1),
                    "accuracy_m": round(rng.uniform(3, 20), 1),
                }
                for n in range(fixes)
            ]
            answer = await call(into["locations"], "POST", "/api/v1/driver/locations", json={"pings": pings},
                                headers={"Authorization": f"Bearer {keys[phone]}"})  # fmt: skip
            if answer and answer[0] == 202:
                accepted["locations"].append(keys[phone])

        async def instructions(phone: int, into: dict[str, Stream]) -> None:
            answer = await call(into["instructions"], "GET", f"/api/v1/driver/instructions?after={cursors[phone]}",
                                headers={"Authorization": f"Bearer {keys[phone]}"})  # fmt: skip
            if answer and answer[0] == 200:
                cursors[phone] = max(cursors[phone], int(json.loads(answer[1])["next_cursor"]))

        async def snapshot(index: int) -> None:
            answer = await call(streams["snapshot"], "GET", "/api/v1/board/snapshot",
                                headers={"Cookie": f"sessionid={sessions[index]}"})  # fmt: skip
            if answer and answer[0] == 200:
                boards.snapshot_bytes.append(len(answer[1]))
                boards.snapshot_cases.append(len(json.loads(answer[1])["cases"]))

        async def board(index: int) -> None:
            headers = {"Origin": base, "Cookie": f"sessionid={sessions[index]}"}
            started = time.perf_counter()
            try:
                async with http.ws_connect(base.replace("http", "ws", 1) + "/ws/board/", headers=headers,
                                           heartbeat=None, max_msg_size=0) as ws:  # fmt: skip
                    sockets.append(ws)
                    async for message in ws:
                        now = time.perf_counter()
                        if message.type != aiohttp.WSMsgType.TEXT:
                            break
                        data = json.loads(message.data)
                        boards.frames[data["type"]] += 1
                        if data["type"] == "hello":
                            boards.connect_ms.append((now - started) * 1000)
                            boards.hello[index] = int(data["seq"].get(str(depot_id), 0))
                            boards.seqs[index] = []
                            tasks.append(asyncio.create_task(snapshot(index)))
                        elif "seq" in data:
                            boards.seqs[index].append(int(data["seq"]))
                            if data["type"] == "case":
                                boards.arrivals.append((index, int(data["case"]["id"]), now))
                    if not finishing.is_set():
                        boards.closed.append(f"board {index}: close code {ws.close_code}")
            except Exception as exc:
                boards.errors.append(f"board {index}: {exc!r}")

        async def play(events: list[Event], into: dict[str, Stream], measure: bool) -> None:
            start = time.perf_counter()
            for event in events:
                delay = start + event.at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if measure:
                    lag.append((time.perf_counter() - start - event.at) * 1000)
                if event.kind == "scan":
                    job = scan(event.phone, event.outcome, into)
                elif event.kind == "locations":
                    job = locations(event.phone, into)
                elif event.kind == "instructions":
                    job = instructions(event.phone, into)
                else:
                    listeners.append(asyncio.create_task(board(event.phone)))
                    continue
                tasks.append(asyncio.create_task(job))

        tasks: list[asyncio.Task[None]] = []
        listeners: list[asyncio.Task[None]] = []
        await play(schedule(rates, WARMUP_S, boards=False, scans=False), warm, measure=False)
        await asyncio.gather(*tasks)
        tasks.clear()

        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        await play(schedule(rates, seconds, boards=True, scans=True), streams, measure=True)
        while any(not task.done() for task in tasks):  # snapshots are added while the others run
            await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)

        # Let the last frames arrive (every board up to the depot's last number), then hang up.
        final = (await asyncio.to_thread(realtime.board_seq_current, [depot_id]))[depot_id]
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline and any(
            max(boards.seqs.get(index) or [boards.hello.get(index, final)]) < final for index in boards.hello
        ):
            await asyncio.sleep(0.1)
        finishing.set()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        await asyncio.gather(*listeners, return_exceptions=True)

    client_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return {
        "streams": streams,
        "warm": warm,
        "accepted": accepted,
        "case_sent": case_sent,
        "boards": boards,
        "final_seq": final,
        "elapsed": elapsed,
        "lag": lag,
        "client_cpu": client_cpu,
    }


def session_cpu(session_id: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a session: the server and its workers."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session_id:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def verify(accepted: dict[str, list[str]], batches_before: int) -> dict[str, int]:
    from dispatch.models import LocationBatch, ScanEvent
    from exceptions.models import ExceptionCase

    stored = ScanEvent.objects.filter(idempotency_key__in=accepted["scans"])
    return {
        "scans stored": stored.count(),
        "cases": ExceptionCase.objects.filter(scan__idempotency_key__in=accepted["failed"]).count(),
        "batches stored": LocationBatch.objects.count() - batches_before,
    }


# --- Reporting ----------------------------------------------------------------------------------------------------


def ms(values: list[float], share: float) -> str:
    return f"{percentile(values, share):.1f}" if values else "-"


def table(result: dict[str, Any]) -> list[str]:
    elapsed = result["elapsed"]
    rows = [
        "| endpoint | target /s | achieved /s | sent | 2xx | p50 ms | p95 ms | p99 ms | max ms | non-2xx | transport |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, stream in result["streams"].items():
        ok = stream.statuses[EXPECTED[name]]
        other = {status: n for status, n in sorted(stream.statuses.items()) if status != EXPECTED[name]}
        target = f"{stream.target:.3f}" if name != "snapshot" else f"{result['boards_due']} in {BOARD_RAMP_S:g} s"
        achieved = f"{ok / elapsed:.3f}" if name != "snapshot" else f"{ok} loaded"
        rows.append(
            f"| {PATHS[name]} | {target} | {achieved} | {stream.sent} | {ok} | {ms(stream.latencies, 0.5)} | "
            f"{ms(stream.latencies, 0.95)} | {ms(stream.latencies, 0.99)} | "
            f"{max(stream.latencies, default=0):.1f} | {other or 0} | {len(stream.errors)} |"
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured duration (default 60)")
    parser.add_argument("--scale", type=float, default=10.0, help="times one depot's peak hour (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="Uvicorn workers (default 2)")
    parser.add_argument("--database", default=DATABASE_URL, help="scratch database URL")
    parser.add_argument("--record", action="store_true", help="write the result into bench/RESULTS.md")
    args = parser.parse_args()

    rates = Rates.derive(args.scale)
    print("assumptions and rates:")
    for line in assumptions(rates):
        print("  - " + line.replace("**", ""))
    scans_needed = int(rates.scans * args.seconds) + rates.backlog
    seed_drivers = min(MAX_SEED_DRIVERS, rates.phones)
    seed_stops = min(MAX_SEED_STOPS, max(STOPS_PER_DAY * math.ceil(args.scale), 2 * scans_needed))

    import redis

    redis.Redis.from_url(REDIS_DB_URL).flushdb()
    # This process signs the dispatchers in and opens the backlog: with the server's settings, so sessions hold.
    env = {**server_env(args.database), "REDIS_URL": REDIS_DB_URL, "CACHE_KEY_PREFIX": "loadbench",
           "CHANNEL_LAYER_PREFIX": "loadbench:ws", "THROTTLE_DRIVER": "600/min"}  # fmt: skip
    os.environ.update(env)
    rng = random.Random(7)
    print(f"preparing {seed_stops} stops, {seed_drivers} drivers in {args.database} ...", flush=True)
    plan = [(key, ids) for key, ids in prepare(args.database, seed_drivers, seed_stops) if ids]
    if sum(len(ids) for _, ids in plan) < scans_needed:
        raise SystemExit(f"{scans_needed} scans need fresh stops; only {sum(len(ids) for _, ids in plan)} seeded.")
    print(f"opening the backlog: {rates.backlog} failed scans through the scan service ...", flush=True)
    plan = backlog_open(plan, rates.backlog, rng)
    depot_id, sessions = sessions_open(rates.boards)

    from dispatch.models import LocationBatch

    batches_before = LocationBatch.objects.count()
    log = Path(tempfile.gettempdir()) / f"load_mix-uvicorn-{os.getpid()}.log"
    load_before = os.getloadavg()
    try:
        with log.open("wb") as stderr, uvicorn_serving(env, workers=args.workers, stderr=stderr) as server:
            base = server.base
            print(f"server log: {log}")
            print(f"{WARMUP_S:g} s warm-up, then {args.seconds:g} s at {X} {args.scale:g} on {base}; "
                  f"started {dt.datetime.now(dt.UTC):%H:%M:%S} UTC ...", flush=True)  # fmt: skip
            server_cpu_before = session_cpu(server.pid)
            result = asyncio.run(
                run(
                    base=base,
                    depot_id=depot_id,
                    plan=plan,
                    sessions=sessions,
                    rates=rates,
                    seconds=args.seconds,
                    rng=rng,
                )
            )
            server_cpu = session_cpu(server.pid) - server_cpu_before
            result["boards_due"] = rates.boards
            log_at_stop = log.stat().st_size
            print(f"done; stopping the server at {dt.datetime.now(dt.UTC):%H:%M:%S} UTC", flush=True)
    finally:
        redis.Redis.from_url(REDIS_DB_URL).flushdb()
    load_after = os.getloadavg()

    stored = verify(result["accepted"], batches_before)
    streams: dict[str, Stream] = result["streams"]
    boards: Boards = result["boards"]
    elapsed = result["elapsed"]

    due = sum(result["final_seq"] - hello for hello in boards.hello.values())
    received = sum(len({seq for seq in seqs if seq > boards.hello[index]}) for index, seqs in boards.seqs.items())
    duplicates = sum(len(seqs) - len(set(seqs)) for seqs in boards.seqs.values())
    frame_ms = [(when - result["case_sent"][case]) * 1000 for _, case, when in boards.arrivals
                if case in result["case_sent"]]  # fmt: skip
    http_errors = sum(
        len(stream.errors) + sum(n for status, n in stream.statuses.items() if status != EXPECTED[name])
        for name, stream in streams.items()
    )
    accepted_scans = len(result["accepted"]["scans"])
    consistent = (
        stored["scans stored"] == accepted_scans
        and stored["cases"] == len(result["accepted"]["failed"])
        and stored["batches stored"] == len(result["accepted"]["locations"])
    )
    log_bytes = log.read_bytes()
    log_run = [line for line in log_bytes[:log_at_stop].decode(errors="replace").splitlines() if line.strip()]
    log_stop = [line for line in log_bytes[log_at_stop:].decode(errors="replace").splitlines() if line.strip()]
    tracebacks = log_bytes.count(b"Traceback (most recent call last)")

    target = rates.scans + rates.uploads + rates.polls
    achieved = sum(stream.statuses[EXPECTED[name]] for name, stream in streams.items() if name != "snapshot") / elapsed
    all_ms = [value for name, stream in streams.items() if name != "snapshot" for value in stream.latencies]
    machine = (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()} {platform.release()}; "
        f"server: Uvicorn, {args.workers} workers, config.settings.production, channels_redis"
    )
    lines = [
        f"Run: {elapsed:.1f} s measured (schedule {args.seconds:g} s plus the last answers); driver HTTP "
        f"{achieved:.1f} answered 2xx/s of {target:.1f} targeted; all driver requests p50 {ms(all_ms, 0.5)}, "
        f"p95 {ms(all_ms, 0.95)}, p99 {ms(all_ms, 0.99)} ms.",
        f"Boards: {len(boards.hello)} of {rates.boards} greeted (socket → greeting p50 {ms(boards.connect_ms, 0.5)}, "
        f"p95 {ms(boards.connect_ms, 0.95)} ms); frames {dict(boards.frames)}; numbered frames due after the "
        f"greetings {due}, received {received}, missed {due - received}, duplicates {duplicates}; sockets closed "
        f"early {len(boards.closed)}, socket errors {len(boards.errors)}.",
        f"Failed scan POST sent → case frame at a board: p50 {ms(frame_ms, 0.5)}, p95 {ms(frame_ms, 0.95)}, "
        f"max {max(frame_ms, default=0):.1f} ms ({len(frame_ms)} frames).",
        f"Snapshots: {len(boards.snapshot_cases)} loaded, {min(boards.snapshot_cases, default=0)} to "
        f"{max(boards.snapshot_cases, default=0)} open cases, "
        f"{sum(boards.snapshot_bytes) / max(1, len(boards.snapshot_bytes)) / 1024:.0f} KiB each.",
        f"Stored: {stored['scans stored']} scans for {accepted_scans} accepted, {stored['cases']} cases for "
        f"{len(result['accepted']['failed'])} failed, {stored['batches stored']} location batches for "
        f"{len(result['accepted']['locations'])} accepted (warm-up included): "
        f"{'consistent' if consistent else 'MISMATCH'}.",
        f"CPU over the run: server {server_cpu:.1f} s ({server_cpu / elapsed:.2f} cores), load generator "
        f"{result['client_cpu']:.1f} s ({result['client_cpu'] / elapsed:.2f} cores); generator lag behind schedule "
        f"p99 {ms(result['lag'], 0.99)} ms, max {max(result['lag'], default=0):.1f} ms; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after.",
        f"Server log (stderr, level WARNING): {len(log_run)} lines during the run, {tracebacks} tracebacks; "
        f"{len(log_stop)} at shutdown ({'; '.join(sorted(set(log_stop))) or 'none'}).",
    ]
    from exceptions.board.consumers import BoardConsumer

    if rates.failed and 1 / rates.failed > BoardConsumer.RECHECK_SECONDS:
        lines.append(
            f"Case events are sparse at this rate (one every {1 / rates.failed:.0f} s, longer than a board keeps its "
            f"access answer, {BoardConsumer.RECHECK_SECONDS:g} s): each board refreshes that answer in the background, "
            "so an event is forwarded without a query. (Checked on the event instead, fifty boards re-reading their "
            "sessions one after another on Channels' database thread gave frames p50 206 ms, p95 389 ms.)"
        )
    if any("timeout graceful shutdown exceeded" in line for line in log_stop):
        lines.append(
            "The shutdown ERROR is not a failed request: after the boards hang up, a board consumer's task can stay "
            'in channels_redis\'s `RedisChannelLayer.receive` (its BZPOPMIN loop, state "cancelling"), so Uvicorn '
            "waits out `--timeout-graceful-shutdown 10` and cancels it."
        )
    print()
    for row in table(result):
        print(row)
    for line in lines:
        print(line.replace("**", ""))
    print(f"server log: {log}")
    for line in log_run[:20]:
        print("  log: " + line)
    for name, stream in streams.items():
        for error in sorted(set(stream.errors))[:3]:
            print(f"  {name} transport error: {error}")
    for problem in (boards.closed + boards.errors)[:5]:
        print("  " + problem)

    ok = http_errors == 0 and due == received and not boards.closed and not boards.errors and consistent
    ok = ok and len(boards.hello) == rates.boards and tracebacks == 0 and not log_run
    print(
        f"load_mix {X} {args.scale:g}: {achieved:.1f}/{target:.1f} driver req/s, p95 scans "
        f"{ms(streams['scan delivered'].latencies + streams['scan failed'].latencies, 0.95)} / locations "
        f"{ms(streams['locations'].latencies, 0.95)} / instructions {ms(streams['instructions'].latencies, 0.95)} / "
        f"snapshot {ms(streams['snapshot'].latencies, 0.95)} ms, errors {http_errors}, frames {received}/{due}, "
        f"closed {len(boards.closed)}: {'ok' if ok else 'PROBLEMS'}"
    )
    if args.record:
        heading = f"## Load: a 2,000-stop depot's peak hour {X} {args.scale:g}"
        command = f".venv/bin/python bench/load_mix.py --seconds {args.seconds:g} --scale {args.scale:g}"
        section = "\n".join(
            [
                heading,
                "",
                f"- Command: `{command}`",
                f"- Machine: {machine}. The load generator (aiohttp, open loop, one process: every phone and board), "
                "Postgres, Redis and both web workers share the machine's 2 cores, and another engineer's test runs "
                "were using it at the same time (see the load averages below): the figures are a floor, not "
                "the server's capacity.",
                "- Assumptions and rates:",
                *[f"  - {line}" for line in assumptions(rates)],
                f"- Seeded: {seed_stops:,} stops over {seed_drivers} drivers (demo.day.seed), {rates.backlog} "
                f"open cases, {rates.boards} signed-in dispatchers; scratch database "
                f"`{args.database.rsplit('/', 1)[1]}`, Redis database 6.",
                "",
                *table(result),
                "",
                *[f"- {line}" for line in lines],
                f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
            ]
        )
        results_record(heading=heading, section=section)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
