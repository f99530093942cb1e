"""What a dispatcher decides from, beside the case's story: the failed scan, the driver now, the address's past.

- the scan: the driver's note (digits that could be a code masked), whether a photo was taken (served by the
  board's photo endpoint to those who may see the case), and where it was made against the address, with a warning
  when it was further than the depot's ``scan_distance_warning_m`` beyond the fix's own accuracy;
- the driver now: how far from the address at their last fix, how old the fix is, and the drive back;
- attempts: failed scans at this address and at this building (the same street address, any unit) in the last
  ``ATTEMPT_DAYS`` days;
- the vault: how many codes are on file for the address, verified, failing, flagged. Never a code.
"""

from __future__ import annotations

import datetime as dt

from django.utils.dateparse import parse_datetime

from dispatch.geo import haversine_m
from dispatch.models import AccessCredential, ScanEvent
from exceptions import ports
from exceptions.board.payloads import Approval, Attempts, DriverNow, Evidence, ScanEvidence, Vault, iso, text_masked
from exceptions.models import CaseEvent, ExceptionCase

ATTEMPT_DAYS = 30


def case_evidence(case: ExceptionCase, *, now: dt.datetime) -> Evidence:
    """The evidence beside a case (``case_loaded``)."""
    return {
        "scan": _scan(case),
        "driver": _driver(case, now),
        "attempts": _attempts(case, now),
        "vault": _vault(case),
    }


def case_loaded(case_id: int) -> ExceptionCase:
    """The case with what its evidence and approval read: scan, depot, reason, stop's run and driver, address."""
    return ExceptionCase.objects.select_related(
        "scan", "depot", "reason_code", "stop__run__driver", "stop__run__depot", "order__address"
    ).get(pk=case_id)


def case_approval(case: ExceptionCase, *, now: dt.datetime) -> Approval | None:
    """The outcome a case holds for a dispatcher's approval (``case_loaded``), the reply and reading behind it, and
    for a window whether routing has room then; None when nothing waits for approval."""
    case_id = case.pk
    # As the board offers "approve": an outcome held while the case waits for a person.
    if not case.pending_outcome or case.state != ExceptionCase.State.ESCALATED:
        return None
    detail, zone = case.outcome_detail or {}, case.depot.time_zone
    reading = case.events.filter(kind=CaseEvent.Kind.UNDERSTANDING).order_by("-at", "-pk").first()
    heard = reading.payload if reading is not None else {}
    replies = [item for item in ports.outreach().conversation(case_id=case_id) if item["direction"] == "inbound"]
    reply = str(replies[-1]["body"]) if replies else None
    start, end = _when(detail.get("window_start")), _when(detail.get("window_end"))
    what = str(detail.get("place") or detail.get("neighbour") or "")
    slot = None
    if start is not None:
        local = start.astimezone(zone)
        what = f"{local:%a %d %b} from {local:%H:%M}" + (f" to {end.astimezone(zone):%H:%M}" if end else "")
        window = (start, end or start + dt.timedelta(hours=2))
        slot = "open" if ports.routing().windows_open(stop=case.stop, windows=[window], now=now) else "full"
    return {
        "outcome": case.pending_outcome,
        "what": what,
        "held_because": case.escalation_reason,
        "reply": text_masked(reply) if reply is not None else None,
        "reading": f"{heard.get('intent', '').replace('_', ' ').lower()}: {heard.get('why', '')}" if heard else None,
        "sure": heard.get("sure") if heard else None,
        "slot": slot,
    }


def _when(value: object) -> dt.datetime | None:
    return parse_datetime(value) if isinstance(value, str) else value if isinstance(value, dt.datetime) else None


def _scan(case: ExceptionCase) -> ScanEvidence:
    scan, address = case.scan, case.order.address
    warning = case.depot.scan_distance_warning_m
    distance = accuracy = None
    if scan.latitude is not None and scan.longitude is not None:
        distance = round(haversine_m(scan.latitude, scan.longitude, address.latitude, address.longitude))
    if scan.accuracy_m is not None:
        accuracy = int(scan.accuracy_m)
    return {
        "at": iso(scan.device_time),
        "reason_code": case.reason_code.code,
        "note": text_masked(scan.notes),
        "photo": bool(scan.photo),
        "distance_m": distance,
        "accuracy_m": accuracy,
        "far": distance is not None and distance - (accuracy or 0) > warning,
        "warning_m": warning,
    }


def _driver(case: ExceptionCase, now: dt.datetime) -> DriverNow | None:
    driver, address = case.stop.run.driver, case.order.address
    if driver.last_latitude is None or driver.last_longitude is None:
        return None
    there = (address.latitude, address.longitude)
    here = (driver.last_latitude, driver.last_longitude)
    seconds = ports.routing().drive_seconds(depot=case.depot, origin=here, destination=there, at=now)
    return {
        "distance_m": round(haversine_m(*here, *there)),
        "fix_at": iso(driver.last_seen_at),
        "drive_minutes": None if seconds is None else max(1, round(seconds / 60)),
    }


def _attempts(case: ExceptionCase, now: dt.datetime) -> Attempts:
    address = case.order.address
    failed = ScanEvent.objects.filter(
        outcome=ScanEvent.Outcome.FAILED, received_at__gte=now - dt.timedelta(days=ATTEMPT_DAYS)
    )
    building = failed.filter(
        stop__order__address__depot_id=address.depot_id,
        stop__order__address__line1__iexact=address.line1,
        stop__order__address__postal_code=address.postal_code,
    )
    return {
        "address": failed.filter(stop__order__address_id=address.pk).count(),
        "building": building.count(),
        "days": ATTEMPT_DAYS,
    }


def _vault(case: ExceptionCase) -> Vault:
    codes = list(AccessCredential.objects.filter(address_id=case.order.address_id))
    worked = [code.last_worked_at for code in codes if code.last_worked_at is not None]
    failed = [code.last_failed_at for code in codes if code.last_failed_at is not None]
    return {
        "codes": len(codes),
        "verified": sum(code.is_verified for code in codes),
        "failing": sum(code.failure_count > 0 for code in codes),
        "flagged": sum(code.is_flagged for code in codes),
        "last_worked_at": iso(max(worked)) if worked else None,
        "last_failed_at": iso(max(failed)) if failed else None,
    }
