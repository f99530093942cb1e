"""The live board's fan-out: failed scans reaching every open board, against the production ASGI server.

    .venv/bin/python bench/board_fanout.py --boards 50 --rate 20 --seconds 60 [--record]

Seeds the demo depot in a scratch database, signs in ``--boards`` dispatchers
(one session each), starts Uvicorn with config.settings.production, opens one
``/ws/board/`` socket per dispatcher, then posts failed scans at a fixed rate
(open loop). Each scan opens a case; the case's numbered ``case`` event must
reach every socket.

Latency is measured from the moment the scan's POST leaves the client, so it
includes the request's own work before its commit: an upper bound on commit to
frame. Every socket is checked for gaps in its depot's sequence numbers and for
every case the accepted scans opened.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scan_load import percentile, prepare, server_env  # noqa: E402
from bench.scratch import results_record, uvicorn_serving  # noqa: E402

SECTION = "## Live board: fan-out of failed scans"
REDIS_DB_URL = "redis://127.0.0.1:6379/5"


def sessions_open(count: int) -> tuple[int, list[str]]:
    """``count`` dispatchers of the demo depot, each signed in once; returns the depot id and session keys."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore

    from dispatch import roles
    from dispatch.models import Depot, User

    depot = Depot.objects.get(code="chi-demo")
    group = Group.objects.get(name=roles.DISPATCHERS)
    keys = []
    for index in range(count):
        user, _ = User.objects.update_or_create(
            username=f"fanout-{index:02d}", defaults={"is_active": True, "is_staff": False}
        )
        user.set_unusable_password()
        user.save()
        user.groups.set([group])
        user.depots.set([depot])
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(str(session.session_key))
    return depot.pk, keys


async def run(
    *, base: str, depot_id: int, sessions: list[str], plan: list[tuple[str, list[int]]], rate: float, seconds: float
) -> dict:
    import aiohttp

    jobs = [(key, ids[position]) for position in range(max(len(ids) for _, ids in plan)) for key, ids in plan
            if position < len(ids)]  # fmt: skip
    total = int(rate * seconds)
    if total > len(jobs):
        raise SystemExit(f"{total} scans need {total} fresh stops; only {len(jobs)} prepared. Raise --stops.")

    sent_at: dict[int, float] = {}  # case id -> when its scan's POST left
    answered: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    # Per socket: case id -> arrival time of its first frame; the sequence numbers seen.
    arrivals: list[dict[int, float]] = [{} for _ in sessions]
    seqs: list[list[int]] = [[] for _ in sessions]
    hello: list[int] = [0] * len(sessions)
    closed: list[str] = []
    ws_url = base.replace("http://", "ws://") + "/ws/board/"
    origin = base

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

        async def listen(index: int, key: str, ready: asyncio.Event) -> None:
            headers = {"Origin": origin, "Cookie": f"sessionid={key}"}
            async with http.ws_connect(ws_url, headers=headers, heartbeat=None, max_msg_size=0) as ws:
                sockets.append(ws)
                async for message in ws:
                    now = time.perf_counter()
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break
                    data = json.loads(message.data)
                    if data["type"] == "hello":
                        hello[index] = int(data["seq"].get(str(depot_id), 0))
                        ready.set()
                    elif data["type"] == "case":
                        seqs[index].append(int(data["seq"]))
                        arrivals[index].setdefault(int(data["case"]["id"]), now)
                if not finishing.is_set():
                    closed.append(f"socket {index}: {ws.close_code}")

        sockets: list[aiohttp.ClientWebSocketResponse] = []
        finishing = asyncio.Event()
        readies = [asyncio.Event() for _ in sessions]
        listeners = [asyncio.create_task(listen(i, key, readies[i])) for i, key in enumerate(sessions)]
        await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), timeout=60)

        async def one(key: str, stop: int) -> None:
            body = {
                "outcome": "failed",
                "reason_code": "ACCESS_DENIED",
                "device_time": dt.datetime.now(dt.UTC).isoformat(),
                "latitude": 41.88,
                "longitude": -87.66,
            }
            headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": str(uuid.uuid4())}
            started = time.perf_counter()
            try:
                async with http.post(f"{base}/api/v1/driver/stops/{stop}/scans", json=body, headers=headers) as r:
                    answer = await r.json(content_type=None)
                    answered.append(time.perf_counter() - started)
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                    if r.status == 201 and answer.get("case_id"):
                        sent_at[int(answer["case_id"])] = started
            except Exception as exc:
                errors.append(repr(exc))

        tasks = []
        start = time.perf_counter()
        for index in range(total):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(*jobs[index])))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
        # Let the last frames arrive, then hang up.
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline and any(len(seen) < len(sent_at) for seen in arrivals):
            await asyncio.sleep(0.1)
        finishing.set()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        await asyncio.gather(*listeners, return_exceptions=True)

    return {
        "sent": total,
        "elapsed": elapsed,
        "sent_at": sent_at,
        "answered": answered,
        "statuses": statuses,
        "errors": errors,
        "arrivals": arrivals,
        "seqs": seqs,
        "hello": hello,
        "closed": closed,
    }


def gaps(first_after: int, numbers: list[int]) -> int:
    """Numbers missing between the greeting's and the last one received (out-of-order arrivals allowed)."""
    if not numbers:
        return 0
    return (max(numbers) - first_after) - len(set(numbers))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--boards", type=int, default=50, help="dispatcher websockets (default 50)")
    parser.add_argument("--rate", type=float, default=20.0, help="failed scans per second (default 20)")
    parser.add_argument("--seconds", type=float, default=60.0, help="duration (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="Uvicorn workers (default 2)")
    parser.add_argument("--drivers", type=int, default=40)
    parser.add_argument("--stops", type=int, default=2000, help="stops prepared (one per scan)")
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/dispatch_fanoutbench", help="scratch database URL"
    )
    parser.add_argument("--record", action="store_true", help="write the result into bench/RESULTS.md")
    args = parser.parse_args()

    import redis

    redis.Redis.from_url(REDIS_DB_URL).flushdb()  # the scratch Redis database: queued tasks of earlier runs
    # This process signs the dispatchers in: it runs with the server's settings, so the sessions hold.
    env = {**server_env(args.database), "REDIS_URL": REDIS_DB_URL, "CACHE_KEY_PREFIX": "fanoutbench",
           "CHANNEL_LAYER_PREFIX": "fanoutbench:ws"}  # fmt: skip
    os.environ.update(env)
    print(f"preparing {args.stops} stops, {args.boards} dispatchers in {args.database} ...", flush=True)
    plan = prepare(args.database, args.drivers, args.stops)
    depot_id, sessions = sessions_open(args.boards)
    try:
        with uvicorn_serving(env, workers=args.workers) as server:
            print(f"{args.boards} boards open; {args.rate:.0f} failed scans/s for {args.seconds:.0f} s ...", flush=True)
            result = asyncio.run(
                run(
                    base=server.base,
                    depot_id=depot_id,
                    sessions=sessions,
                    plan=plan,
                    rate=args.rate,
                    seconds=args.seconds,
                )
            )
    finally:
        redis.Redis.from_url(REDIS_DB_URL).flushdb()

    sent_at = result["sent_at"]
    latencies = [
        (arrived[case] - sent_at[case]) * 1000 for arrived in result["arrivals"] for case in sent_at if case in arrived
    ]
    expected = len(sent_at) * args.boards
    missed = expected - len(latencies)
    gap_count = sum(gaps(h, s) for h, s in zip(result["hello"], result["seqs"], strict=True))
    answered = [value * 1000 for value in result["answered"]]
    errors = len(result["errors"]) + sum(n for status, n in result["statuses"].items() if status != 201)
    p50, p95, p99 = (percentile(latencies, share) for share in (0.50, 0.95, 0.99)) if latencies else (0, 0, 0)
    machine = f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()} {platform.release()}"
    lines = [
        f"{result['sent']} failed scans in {result['elapsed']:.1f} s to {args.boards} open boards: "
        f"{len(sent_at)} cases opened, {expected} frames due",
        f"POST sent → case frame at each board, ms: p50 {p50:.1f}, **p95 {p95:.1f}**, p99 {p99:.1f}, "
        f"max {max(latencies, default=0):.1f} ({len(latencies)} frames)",
        f"frames missed: {missed}; sequence gaps: {gap_count}; sockets closed early: {len(result['closed'])}",
        f"scan API answered ms: p50 {percentile(answered, 0.5):.1f}, p95 {percentile(answered, 0.95):.1f}; "
        f"statuses {dict(sorted(result['statuses'].items()))}, transport errors {len(result['errors'])}",
    ]
    for line in lines:
        print(line.replace("**", ""))
    ok = errors == 0 and missed == 0 and gap_count == 0
    print(f"board_fanout: {args.boards} boards, p95 {p95:.1f} ms, missed {missed}, gaps {gap_count}, errors {errors}")
    if args.record:
        command = (
            f".venv/bin/python bench/board_fanout.py --boards {args.boards} --rate {args.rate:.0f} "
            f"--seconds {args.seconds:.0f}"
        )
        section = "\n".join(
            [
                SECTION,
                "",
                f"- Command: `{command}`",
                f"- Machine: {machine}; server: Uvicorn, {args.workers} workers, config.settings.production, "
                "channels_redis; the scans and all the sockets (aiohttp) in one client process on the same machine",
                "- Latency starts when the scan's POST leaves the client, so it includes the request's work before "
                "its commit: an upper bound on commit → frame. Target: p95 < 150 ms, nothing missed.",
                *[f"- {line}" for line in lines],
                f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
            ]
        )
        results_record(heading=SECTION, section=section)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
