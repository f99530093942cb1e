"""The simulated day's outcome figures, read from the product's own records, as JSON and a Markdown table."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db.models import Min

from demo.simulation.outcomes import as_figures, day_outcomes
from dispatch.models import Order, ScanEvent, Stop
from exceptions.analytics import metrics_summary
from exceptions.models import CostModel, ExceptionCase, PreArrivalContact
from outreach.models import Message
from outreach.segments import sms_segments

# What a segment costs: the cost model's default (Twilio's US list price), as analytics prices it.
SMS_SEGMENT_COST = float(CostModel._meta.get_field("sms_segment_cost").get_default())

if TYPE_CHECKING:
    from demo.simulation.engine import Simulation


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def day_figures(simulation: Simulation, *, started: dt.datetime, finished: dt.datetime) -> dict[str, Any]:
    depot, day = simulation.depot, simulation.service_date
    stops = Stop.objects.filter(run__depot=depot, run__service_date=day)
    cases = ExceptionCase.objects.filter(depot=depot, stop__in=stops, opened_at__gte=started)
    exceptions = cases.count()
    finished_cases = list(
        cases.exclude(state__in=ExceptionCase.OPEN_STATES).values(
            "opened_at", "resolved_at", "closed_at", "touched_by_dispatcher", "outcome"
        )
    )
    ends = [(case["resolved_at"] or case["closed_at"], case["opened_at"]) for case in finished_cases]
    minutes = [(end - opened).total_seconds() / 60 for end, opened in ends if end is not None]
    untouched = sum(1 for case in finished_cases if not case["touched_by_dispatcher"])
    unfinished = exceptions - len(finished_cases)

    # First attempts: each stop's first scan of the day (a stop handed to another run starts a new stop row).
    attempted = stops.filter(attempt_count__gt=0)
    first_scans = ScanEvent.objects.filter(stop__in=attempted).values("stop_id").annotate(first=Min("id"))
    first_ids = [row["first"] for row in first_scans]
    first_delivered = ScanEvent.objects.filter(pk__in=first_ids, outcome=ScanEvent.Outcome.DELIVERED).count()
    orders = Order.objects.filter(stops__in=stops).distinct()
    delivered_orders = orders.filter(status=Order.Status.DELIVERED).count()
    failed_orders = cases.values("order_id").distinct().count()
    recovered = cases.filter(order__status=Order.Status.DELIVERED).values("order_id").distinct().count()

    summary = metrics_summary(depot_ids=[depot.pk], date_from=day, date_to=day)
    costs = summary["totals"]["failed_attempt_cost"]
    cost = costs[0] if costs else None

    if simulation.twilio is not None:
        # Every POST the provider saw, against the messages we hold: one more POST than rows is a duplicate text.
        accepted = [post.get("Sid") for post in simulation.twilio.accepted if post.get("Sid")]
        stored = Message.objects.filter(provider_sid__in=accepted, direction=Message.Direction.OUTBOUND).count()
        texts: int = len(simulation.twilio.posts)
        duplicates: int | None = len(accepted) - stored
    else:  # live: the provider's log is not ours to read
        texts = Message.objects.filter(
            conversation__case__in=cases, direction=Message.Direction.OUTBOUND, provider_sid__isnull=False
        ).count()
        duplicates = None
    outcomes: dict[str, int] = {}
    for case in finished_cases:
        outcomes[case["outcome"] or "none"] = outcomes.get(case["outcome"] or "none", 0) + 1
    tally = simulation.tally
    options = simulation.options
    ended = day_outcomes(simulation, started=started)
    no_touch_by_ending = summary["totals"]["no_touch"]["by_ending"]
    value = summary["totals"]["value"]
    if simulation.twilio is not None:
        segments = sum(sms_segments(str(post.get("Body", ""))) for post in simulation.twilio.posts)
    else:
        segments = sum(
            sms_segments(body)
            for body in Message.objects.filter(
                conversation__case__in=cases, direction=Message.Direction.OUTBOUND, provider_sid__isnull=False
            ).values_list("body", flat=True)
        )
    contacts = PreArrivalContact.objects.filter(stop__in=stops)
    texted_ahead = contacts.exclude(status=PreArrivalContact.Status.SKIPPED).count()
    answered_ahead = contacts.filter(status=PreArrivalContact.Status.ANSWERED).count()
    stop_count = stops.count()
    return {
        "options": {
            "stops": options.stops,
            "drivers": options.drivers,
            "exception_rate": options.exception_rate,
            "seed": options.seed,
            "dispatchers": options.dispatchers,
            "handling_minutes": options.handling_minutes,
            "replies": str(options.replies or "default"),
            "live": options.live,
            "prevention": options.prevention,
            "persistence": options.persistence,
            "reply_scale": options.reply_scale,
            "heads_up": options.heads_up,
            "notices": options.notices,
            "link_share": options.link_share,
        },
        "service_date": day.isoformat(),
        "simulated_from": started.isoformat(),
        "simulated_to": finished.isoformat(),
        "exceptions": exceptions,
        **as_figures(ended),
        "no_touch_by_ending": no_touch_by_ending,
        "wrong_actions": sum(tally.wrong_actions.values()),
        "wrong_actions_by_kind": dict(sorted(tally.wrong_actions.items())),
        "failures_after_a_wrong_action": tally.failures_after_wrong_action,
        "requests": tally.requests,
        "unanswered_requests": sum(tally.unheard.values()),
        "unanswered_requests_by_intent": dict(sorted(tally.unheard.items())),
        "wrong_and_unheard": tally.examples[:100],
        "failed_attempts": tally.scans_failed,
        "sms_segments": segments,
        "sms_cost": round(segments * SMS_SEGMENT_COST, 2),
        "desk_value_per_1000_parcels": str(value[0]["net_per_1000_parcels"]) if value else None,
        "no_touch_share": _share(untouched, len(finished_cases)),
        "resolution_minutes_median": _round(statistics.median(minutes) if minutes else None),
        "resolution_minutes_p90": _round(_percentile(minutes, 0.9)),
        "recovered_same_day_share": _share(recovered, failed_orders),
        "first_attempt_success": _share(first_delivered, len(first_ids)),
        "final_success": _share(delivered_orders, orders.count()),
        "cost_per_failed_attempt": str(cost["cost_per_failed_attempt"]) if cost else None,
        "cost_currency": cost["currency"] if cost else None,
        "sms_sent": texts,
        "sms_per_exception": round(texts / exceptions, 2) if exceptions else None,
        "duplicate_sms": duplicates,
        "unfinished": unfinished,
        "prearrival_texts": texted_ahead,
        "prearrival_reply_rate": _share(answered_ahead, texted_ahead),
        "extra_sms_per_stop": round(texted_ahead / stop_count, 3) if stop_count else None,
        "outcomes": dict(sorted(outcomes.items())),
        "people": {
            "scans_failed": tally.scans_failed,
            "scans_delivered": tally.scans_delivered,
            "replies": tally.replies,
            "replies_by_intent": dict(sorted(tally.replies_by_intent.items())),
            "texts_left_unanswered": tally.silent_prompts,
            "dispatcher_actions": dict(sorted(tally.dispatcher_actions.items())),
            "replies_with_noise": dict(sorted(tally.noise.items())),
            "answers_on_the_page": dict(sorted(tally.page_choices.items())),
            "page_without_a_fitting_choice": tally.page_not_enough,
            "unreachable_recipients": sum(1 for trail in simulation.trails.values() if not trail.reachable),
        },
        "api_errors": tally.api_errors[:50],
        "api_error_count": len(tally.api_errors),
        "events": tally.events,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _cell(value: Any, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value}{suffix}"


def markdown(figures: dict[str, Any]) -> str:
    o = figures["options"]
    rows = [
        ("Exceptions raised", _cell(figures["exceptions"])),
        ("Failed parcels", _cell(figures["failed_parcels"])),
        (
            "Rescued without a dispatcher (per failed parcel, judged by the world)",
            _cell(figures["rescued_without_dispatcher_share"], " %"),
        ),
        (
            "Rescued without a dispatcher, as the product counts it",
            _cell(figures["rescued_as_the_product_counts_share"], " %"),
        ),
        (
            "Time to outcome, median (first failed scan to delivery or settlement)",
            _cell(figures["minutes_to_outcome_median"], " min"),
        ),
        ("Cases closed with no dispatcher touch", _cell(figures["no_touch_share"], " %")),
        ("Wrong actions (automatic actions the recipient did not ask for)", _cell(figures["wrong_actions"])),
        ("Requests left unanswered", _cell(figures["unanswered_requests"])),
        ("First-attempt success", _cell(figures["first_attempt_success"], " %")),
        ("Final success (delivered today)", _cell(figures["final_success"], " %")),
        ("Cost per failed attempt", f"{_cell(figures['cost_per_failed_attempt'])} {figures['cost_currency'] or ''}"),
        ("SMS per exception", _cell(figures["sms_per_exception"])),
        ("SMS segments, cost", f"{figures['sms_segments']}, {figures['sms_cost']} USD"),
        ("Desk's value per 1,000 parcels, as analytics counts it", f"{_cell(figures['desk_value_per_1000_parcels'])}"),
        ("Duplicate SMS", _cell(figures["duplicate_sms"])),
        ("Cases left unfinished", _cell(figures["unfinished"])),
        ("Texts ahead of the driver (prevention)", _cell(figures["prearrival_texts"])),
        ("Answered ahead", _cell(figures["prearrival_reply_rate"], " %")),
        ("Extra SMS per stop", _cell(figures["extra_sms_per_stop"])),
    ]
    head = (
        f"simulate_day --stops {o['stops']} --drivers {o['drivers']} --exception-rate {o['exception_rate']} "
        f"--seed {o['seed']}{'' if o['prevention'] else ' --no-prevention'} (service date {figures['service_date']})"
    )
    endings = ["", "| Ending | Without a dispatcher | With a dispatcher |", "|---|---|---|"]
    for ending, split in figures["endings"].items():
        endings.append(f"| {ending} | {split['without_dispatcher']} | {split['with_dispatcher']} |")
    lines = [head, "", "| Figure | Value |", "|---|---|", *[f"| {name} | {value} |" for name, value in rows], *endings]
    return "\n".join(lines) + "\n"


def last_line(figures: dict[str, Any]) -> str:
    return (
        f"simulate_day: exceptions {figures['exceptions']}, failed parcels {figures['failed_parcels']}, "
        f"rescued without a dispatcher {_cell(figures['rescued_without_dispatcher_share'])} %, "
        f"no-touch {_cell(figures['no_touch_share'])} %, "
        f"median to outcome {_cell(figures['minutes_to_outcome_median'])} min, "
        f"wrong actions {figures['wrong_actions']}, unanswered requests {figures['unanswered_requests']}, "
        f"unfinished {figures['unfinished']}, duplicate SMS {_cell(figures['duplicate_sms'])}"
    )


def write(figures: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    off = "" if figures["options"]["prevention"] else "-no-prevention"
    stem = f"day-{figures['service_date']}-seed{figures['options']['seed']}{off}"
    json_path, md_path = directory / f"{stem}.json", directory / f"{stem}.md"
    json_path.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    md_path.write_text(markdown(figures))
    return json_path, md_path
