"""The load bench/load_mix.py plays: its assumptions (one depot at its peak hour), the rates derived from them
at a scale, the morning's backlog opened before the run, and the schedule of every request.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from dataclasses import dataclass

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
