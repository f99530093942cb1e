"""How likely each stop still to be attempted is to fail, and why: the list pre-arrival outreach works from.

One pass over the day in a fixed number of queries, whatever its size: the
stops, the failures at their buildings, their recipients' absences and their
addresses' access codes are read in bulk (grouped in the database where that
is what we need), scored in Python, and written with one upsert.

Each factor gives a weight in 0..1 and a reason a dispatcher reads; the score
is ``1 - Π(1 - w)``, the chance that at least one of them bites if they were
independent. It is a ranking, not a calibrated probability: the weights below
are first guesses to be tuned against the simulator and real days.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from dispatch.models import AccessCredential, Address, ReasonCode, Run, ScanEvent, Stop
from exceptions.models import StopRisk

# --- Weights and lookbacks ---------------------------------------------------------------------------------------

# Failures older than this say little about today: codes change, tenants move, concierges are replaced.
FAILURE_LOOKBACK_DAYS = 60
# Per earlier failed attempt at this very address, by the reason's category. Access and address trouble is a
# property of the place and repeats; "not home" is better judged by the hour-of-day factor below, so it counts
# less here; damage says nothing about the place.
ADDRESS_FAILURE_WEIGHT: dict[str, float] = {
    ReasonCode.Category.ACCESS: 0.25,
    ReasonCode.Category.ADDRESS: 0.25,
    ReasonCode.Category.BUSINESS: 0.2,
    ReasonCode.Category.AVAILABILITY: 0.1,
    ReasonCode.Category.DAMAGE: 0.0,
}
# Per failed attempt at another unit of the same building (same postal code and line 1). Only trouble with the
# building itself carries over to a neighbour's parcel: getting in, or finding it.
BUILDING_FAILURE_WEIGHT: dict[str, float] = {ReasonCode.Category.ACCESS: 0.12, ReasonCode.Category.ADDRESS: 0.1}
# However long the history, it is a prior, not a certainty: leave room for the other factors to rank stops.
FAILURE_WEIGHT_CAP = 0.7

# Gated and multi-unit addresses are where a driver without a working code stands at the door.
NEEDS_ACCESS = (Address.BuildingType.GATED, Address.BuildingType.MULTI_UNIT)
PLACES: dict[str, str] = {
    Address.BuildingType.GATED: "gated community",
    Address.BuildingType.MULTI_UNIT: "apartment building",
}
# No code at all for such an address: the driver must buzz and hope. Many buildings have a buzzer or a
# concierge, and the simulator's failure odds for these buildings are ~1.7-1.9 times a house's (~13-15 % of first
# attempts at its default 10 % exception rate), so on its own this ranks below any such stop with a second sign
# (a failure there before, an absence at that time of day). How far down the list texts go is prevention's daily
# share; at 0.35 here a third of the demo day scored above 0.3, and the ranking told them apart less well.
NO_CODE_WEIGHT = 0.25
# A code on file that has never been seen to work (from a plan import, say): usually right, not always.
UNVERIFIED_CODE_WEIGHT = 0.12
# A flagged code (vault: failed FLAG_AFTER_FAILURES times since it last worked) is known wrong: the vault no
# longer reveals it, so the driver arrives with nothing that opens the door, at a place that needs one.
FLAGGED_CODE_WEIGHT = 0.45
# A code that failed once lately: maybe a typo, maybe changed. Lately = this many days; beyond that the code
# has likely been re-confirmed or replaced.
CODE_FAILED_DAYS = 14
RECENTLY_FAILED_CODE_WEIGHT = 0.3

# Recipients' habits are sparse (a few orders a month), so look back further than for buildings.
ABSENCE_LOOKBACK_DAYS = 90
# "At a similar hour": an earlier "not home" within this many minutes of today's planned arrival, local time.
# "At a similar time of day": in the same part of the day, local time. People are out for a shift or a school
# run, not for the hour a driver happened to come: an absence at 10:00 says as much about 11:30 as about 09:30.
# The parts are the ones replies are read with (outreach.understanding): (name, from hour, to hour).
DAY_PARTS: tuple[tuple[str, int, int], ...] = (("morning", 0, 12), ("afternoon", 12, 17), ("evening", 17, 24))
# Per such absence: two at the same hour is a pattern (a job, a school run).
ABSENCE_WEIGHT = 0.3
ABSENCE_WEIGHT_CAP = 0.7
ABSENT_REASON = "RECIPIENT_ABSENT"

# Planned after the window closes: the recipient has been told a time we will miss; many leave.
WINDOW_LATE_WEIGHT = 0.5
# Planned before it opens: either the driver waits (and the run slips) or knocks before anyone expects them.
WINDOW_EARLY_WEIGHT = 0.25
# Planned within this many minutes of the window's end: a little traffic or one slow stop makes it late.
WINDOW_TIGHT_MINUTES = 15
WINDOW_TIGHT_WEIGHT = 0.15

SCORED_STATUSES = (Stop.Status.PENDING, Stop.Status.ARRIVED)
CLOSED_RUN_STATUSES = (Run.Status.COMPLETED, Run.Status.CANCELLED)


@dataclass(frozen=True)
class _Stop:
    id: int
    service_date: dt.date
    tz: zoneinfo.ZoneInfo
    planned_arrival: dt.datetime | None
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    recipient_id: int
    safe_drop_allowed: bool
    address_id: int
    building: tuple[str, str]
    building_type: str


@dataclass(frozen=True)
class Reason:
    code: str
    label: str
    weight: float
    asks: tuple[str, ...] = ()


# --- Entry points ---------------------------------------------------------------------------------------------------


def risk_score_day(*, depot_id: int, service_date: dt.date, now: dt.datetime | None = None) -> int:
    """Score every stop of the depot's day still to be attempted; returns the rows written."""
    return _score(_scope().filter(run__depot_id=depot_id, run__service_date=service_date), now or timezone.now())


def risk_score_runs(*, run_ids: Sequence[int], now: dt.datetime | None = None) -> int:
    """Score again the stops of these runs still to be attempted, after their planned arrivals moved."""
    return _score(_scope().filter(run_id__in=list(run_ids)), now or timezone.now())


def _scope() -> QuerySet[Stop]:
    return Stop.objects.filter(status__in=SCORED_STATUSES).exclude(run__status__in=CLOSED_RUN_STATUSES)


# --- The pass -------------------------------------------------------------------------------------------------------


def _score(stops_qs: QuerySet[Stop], now: dt.datetime) -> int:
    stops = [
        _Stop(
            id=row["id"],
            service_date=row["run__service_date"],
            tz=zoneinfo.ZoneInfo(str(row["run__depot__time_zone"])),
            planned_arrival=row["planned_arrival"],
            window_start=row["start"],
            window_end=row["end"],
            recipient_id=row["order__recipient_id"],
            safe_drop_allowed=row["order__safe_drop_allowed"],
            address_id=row["order__address_id"],
            building=(row["order__address__postal_code"], row["order__address__line1"]),
            building_type=row["order__address__building_type"],
        )
        for row in stops_qs.values(
            "id",
            "planned_arrival",
            "order__recipient_id",
            "order__safe_drop_allowed",
            "order__address_id",
            "order__address__postal_code",
            "order__address__line1",
            "order__address__building_type",
            "run__service_date",
            "run__depot__time_zone",
            start=Coalesce("window_start", "order__window_start"),
            end=Coalesce("window_end", "order__window_end"),
        )
    ]
    if not stops:
        return 0
    first_day = min(s.service_date for s in stops)
    last_day = max(s.service_date for s in stops)

    failures = _failures_at_buildings(stops, first_day - dt.timedelta(days=FAILURE_LOOKBACK_DAYS), last_day)
    absences = _absences(stops, first_day - dt.timedelta(days=ABSENCE_LOOKBACK_DAYS), last_day)
    credentials: dict[int, list[AccessCredential]] = defaultdict(list)
    # The secret is deferred: scoring never decrypts a code.
    for credential in AccessCredential.objects.filter(address_id__in={s.address_id for s in stops}).only(
        "id", "address_id", "valid_from", "valid_to", "last_worked_at", "last_failed_at", "failure_count"
    ):
        credentials[credential.address_id].append(credential)

    rows = []
    for stop in stops:
        reasons = [
            *_failure_reasons(stop, failures),
            *_access_reasons(stop, credentials[stop.address_id], now),
            *_absence_reasons(stop, absences[stop.recipient_id]),
            *_window_reasons(stop),
        ]
        reasons.sort(key=lambda reason: (-reason.weight, reason.code))
        rows.append(
            StopRisk(
                stop_id=stop.id,
                score=_combine(reason.weight for reason in reasons),
                reasons=[{"code": r.code, "label": r.label, "weight": round(r.weight, 3)} for r in reasons],
                missing=_missing(stop, reasons),
                computed_at=now,
            )
        )
    StopRisk.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["stop"],
        update_fields=["score", "reasons", "missing", "computed_at"],
    )
    return len(rows)


def _combine(weights: Iterable[float]) -> float:
    survive = math.prod(1.0 - min(max(weight, 0.0), 1.0) for weight in weights)
    return round(min(max(1.0 - survive, 0.0), 1.0), 4)


def _missing(stop: _Stop, reasons: list[Reason]) -> list[str]:
    asked = {ask for reason in reasons for ask in reason.asks}
    if StopRisk.Missing.SAFE_PLACE in asked and not stop.safe_drop_allowed:
        asked.discard(StopRisk.Missing.SAFE_PLACE)
    return [choice for choice in StopRisk.Missing.values if choice in asked]


# --- Failures at this address and this building ----------------------------------------------------------------------

_Building = tuple[str, str]


@dataclass(frozen=True)
class _Failures:
    service_date: dt.date
    address_id: int
    code: str
    label: str
    category: str
    count: int


def _failures_at_buildings(stops: list[_Stop], since: dt.date, before: dt.date) -> dict[_Building, list[_Failures]]:
    """Failed attempts on earlier runs at today's buildings, counted by address, day and reason."""
    buildings = {s.building for s in stops}
    # Postal codes and first lines separately select a few buildings too many; the pairs are matched below.
    grouped = (
        ScanEvent.objects.filter(
            outcome=ScanEvent.Outcome.FAILED,
            stop__run__service_date__gte=since,
            stop__run__service_date__lt=before,
            stop__order__address__postal_code__in={postal for postal, _ in buildings},
            stop__order__address__line1__in={line1 for _, line1 in buildings},
        )
        .values(
            "stop__run__service_date",
            "stop__order__address_id",
            "stop__order__address__postal_code",
            "stop__order__address__line1",
            "reason_code__code",
            "reason_code__label",
            "reason_code__category",
        )
        .annotate(count=Count("id"))
        .order_by()
    )
    found: dict[_Building, list[_Failures]] = defaultdict(list)
    for row in grouped:
        building = (row["stop__order__address__postal_code"], row["stop__order__address__line1"])
        if building in buildings:
            found[building].append(
                _Failures(
                    service_date=row["stop__run__service_date"],
                    address_id=row["stop__order__address_id"],
                    code=row["reason_code__code"],
                    label=row["reason_code__label"],
                    category=row["reason_code__category"],
                    count=row["count"],
                )
            )
    return found


def _failure_reasons(stop: _Stop, failures: dict[_Building, list[_Failures]]) -> list[Reason]:
    day = stop.service_date
    since = day - dt.timedelta(days=FAILURE_LOOKBACK_DAYS)
    here: dict[tuple[str, str, str], int] = defaultdict(int)
    near: dict[tuple[str, str, str], int] = defaultdict(int)
    for f in failures.get(stop.building, ()):
        if not since <= f.service_date < day:
            continue
        (here if f.address_id == stop.address_id else near)[(f.code, f.label, f.category)] += f.count
    reasons = []
    for code, where, counts, weights in (
        ("address_failures", "this address", here, ADDRESS_FAILURE_WEIGHT),
        ("building_failures", "this building", near, BUILDING_FAILURE_WEIGHT),
    ):
        counted = {key: n for key, n in counts.items() if weights.get(key[2], 0.0) > 0}
        if not counted:
            continue
        weight = min(_combine(weights[category] for (_, _, category), n in counted.items() for _ in range(n)), 1.0)
        total = sum(counted.values())
        ordered = sorted(counted.items(), key=lambda item: (-item[1], item[0][0]))
        if len(ordered) == 1:
            detail = _lower(ordered[0][0][1])
        else:
            detail = ", ".join(f"{n} {_lower(label)}" for (_, label, _), n in ordered)
        access = any(category == ReasonCode.Category.ACCESS for (_, _, category) in counted)
        plural = "attempt" if total == 1 else "attempts"
        reasons.append(
            Reason(
                code=code,
                label=f"{total} failed {plural} at {where} in the last {FAILURE_LOOKBACK_DAYS} days ({detail})",
                weight=min(weight, FAILURE_WEIGHT_CAP),
                asks=(StopRisk.Missing.ACCESS_CODE,) if access else (),
            )
        )
    return reasons


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:]


# --- Access codes ----------------------------------------------------------------------------------------------------


def _access_reasons(stop: _Stop, credentials: list[AccessCredential], now: dt.datetime) -> list[Reason]:
    moment = stop.planned_arrival or now
    valid = [c for c in credentials if c.is_valid_at(moment)]
    recently = now - dt.timedelta(days=CODE_FAILED_DAYS)
    # The vault's own words: flagged = failed FLAG_AFTER_FAILURES times since it last worked, and then never
    # revealed; verified = it has worked and is not flagged.
    failed = [
        c for c in valid if c.is_flagged or (c.failure_count and c.last_failed_at and c.last_failed_at >= recently)
    ]
    working = [c for c in valid if c.is_verified and c not in failed]
    building_type = stop.building_type
    place = PLACES.get(building_type, "address")
    asks = (StopRisk.Missing.ACCESS_CODE,)
    if working:
        return []
    if failed:
        flagged = [c for c in failed if c.is_flagged]
        if flagged:
            n = max(c.failure_count for c in flagged)
            label = f"The access code on file for this {place} is flagged: it failed {n} times since it last worked"
            return [Reason("code_flagged", label, FLAGGED_CODE_WEIGHT, asks)]
        last = max(c.last_failed_at for c in failed if c.last_failed_at)
        days = (now - last).days
        ago = "today" if days == 0 else "yesterday" if days == 1 else f"{days} days ago"
        label = f"The access code on file for this {place} failed {ago}"
        return [Reason("code_failed", label, RECENTLY_FAILED_CODE_WEIGHT, asks)]
    if building_type not in NEEDS_ACCESS:
        return []
    if valid:
        label = f"The access code on file for this {place} has never been confirmed to work"
        return [Reason("code_unverified", label, UNVERIFIED_CODE_WEIGHT, asks)]
    return [Reason("no_code", f"No access code on file for this {place}", NO_CODE_WEIGHT, asks)]


# --- The recipient's absences by hour of day ------------------------------------------------------------------------


_Absence = tuple[dt.date, dt.datetime]


def _absences(stops: list[_Stop], since: dt.date, before: dt.date) -> dict[int, list[_Absence]]:
    """Each earlier "not home" of today's recipients: the run's date and when the driver scanned it."""
    found: dict[int, list[_Absence]] = defaultdict(list)
    # Rows, not counts: the hour is compared in each stop's depot time zone, across DST changes. A recipient
    # has a handful of these at most.
    for recipient_id, day, at in ScanEvent.objects.filter(
        outcome=ScanEvent.Outcome.FAILED,
        reason_code__code=ABSENT_REASON,
        stop__order__recipient_id__in={s.recipient_id for s in stops},
        stop__run__service_date__gte=since,
        stop__run__service_date__lt=before,
    ).values_list("stop__order__recipient_id", "stop__run__service_date", "device_time"):
        found[recipient_id].append((day, at))
    return found


def _absence_reasons(stop: _Stop, absences: list[_Absence]) -> list[Reason]:
    planned, tz = stop.planned_arrival, stop.tz
    if planned is None or not absences:
        return []
    day = stop.service_date
    since = day - dt.timedelta(days=ABSENCE_LOOKBACK_DAYS)
    planned_local = planned.astimezone(tz)
    part = _day_part(planned_local.hour)
    near = sum(
        1 for absent_day, at in absences if since <= absent_day < day and _day_part(at.astimezone(tz).hour) == part
    )
    if not near:
        return []
    times = "once" if near == 1 else "twice" if near == 2 else f"{near} times"
    name, start, end = part
    label = (
        f"Recipient was not home {times} in the {name} ({start:02d}:00-{end:02d}:00, arrival {planned_local:%H:%M}) "
        f"in the last {ABSENCE_LOOKBACK_DAYS} days"
    )
    weight = min(_combine([ABSENCE_WEIGHT] * near), ABSENCE_WEIGHT_CAP)
    return [Reason("recipient_absent", label, weight, (StopRisk.Missing.AVAILABILITY, StopRisk.Missing.SAFE_PLACE))]


def _day_part(hour: int) -> tuple[str, int, int]:
    return next(part for part in DAY_PARTS if part[1] <= hour < part[2])


# --- The window against the planned arrival -------------------------------------------------------------------------


def _window_reasons(stop: _Stop) -> list[Reason]:
    planned, start, end, tz = stop.planned_arrival, stop.window_start, stop.window_end, stop.tz
    if planned is None:
        return []
    asks = (StopRisk.Missing.AVAILABILITY,)
    at = f"{planned.astimezone(tz):%H:%M}"
    if end is not None and planned > end:
        late = _minutes(planned - end)
        label = f"Planned arrival {at} is {late} min after the delivery window closes ({end.astimezone(tz):%H:%M})"
        return [Reason("window_late", label, WINDOW_LATE_WEIGHT, asks)]
    if start is not None and planned < start:
        early = _minutes(start - planned)
        label = f"Planned arrival {at} is {early} min before the delivery window opens ({start.astimezone(tz):%H:%M})"
        return [Reason("window_early", label, WINDOW_EARLY_WEIGHT, asks)]
    if end is not None and end - planned <= dt.timedelta(minutes=WINDOW_TIGHT_MINUTES):
        left = round((end - planned).total_seconds() / 60)
        label = f"Planned arrival {at} leaves {left} min before the delivery window closes ({end.astimezone(tz):%H:%M})"
        return [Reason("window_tight", label, WINDOW_TIGHT_WEIGHT, asks)]
    return []


def _minutes(delta: dt.timedelta) -> int:
    return max(1, round(delta.total_seconds() / 60))
