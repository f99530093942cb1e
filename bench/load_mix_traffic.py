"""Playing bench/load_mix.py's schedule against the server, open loop: the phones' scans, GPS uploads and feed
polls over HTTP, the dispatchers' boards over their sockets, and what each of them measured.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import resource
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.load_mix_rates import PING_SAMPLE_S, PING_UPLOAD_S, REASONS, WARMUP_S, Event, Rates, schedule

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
