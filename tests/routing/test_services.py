"""Re-routing on hand-checked days: where a recovered stop goes, what is refused, and plan versions."""

from __future__ import annotations

import datetime as dt

import pytest

from dispatch.models import DriverInstruction, Order, Run, Stop
from exceptions import workflow
from exceptions.models import CaseEvent, ExceptionCase, ReplyIntent
from exceptions.workflow import Understanding
from routing import adapter, services
from routing.models import PlanVersion
from routing.services import StalePlan
from tests.clock import NOW, TODAY, local
from tests.helpers import fail
from tests.routing.line import assert_feasible, failed_at, place, remaining, run_with_stops

pytestmark = pytest.mark.django_db(transaction=False)
TOMORROW = TODAY + dt.timedelta(days=1)


def test_a_recovered_stop_goes_where_it_adds_least_time(dave):
    # Dave is 1 km north, heading north through stops at 2, 3, 4 and 5 km. The recovered
    # stop is at 3.5 km: between 3 and 4 it costs no distance, only its 3 minutes.
    run, stops = run_with_stops(dave, [1, 2, 3, 4, 5, 3.5])
    failed = failed_at(stops[0]), failed_at(stops[5])
    place(dave, 1)

    change = services.stop_reinsert(stop_id=failed[1].pk, window_start=None, window_end=None, requested_by="test")

    assert change.placed
    assert change.operation == PlanVersion.Operation.REINSERT
    assert remaining(run) == [stops[1].pk, stops[2].pk, stops[5].pk, stops[3].pk, stops[4].pk]
    assert change.added_seconds == 180
    assert abs(change.added_metres) <= 2
    assert_feasible(run)


def test_a_window_is_kept_and_other_stops_stay_on_time(dave):
    # The stop at 2 km must be served by 10:10. The recovered stop (0.5 km) may only be seen
    # from 14:00: putting it first would make the driver wait and miss 10:10, so it goes last.
    run, stops = run_with_stops(dave, [1, 2, 3])
    Stop.objects.filter(pk=stops[1].pk).update(window_start=local(9), window_end=local(10, 10))
    recovered = failed_at(run_with_stops(dave, [0.5], start=(7, 0))[1][0])
    Stop.objects.filter(pk=recovered.pk).update(run=run, sequence=10)
    place(dave, 0)

    change = services.stop_reinsert(
        stop_id=recovered.pk, window_start=local(14), window_end=local(16), requested_by="test"
    )

    assert change.placed
    assert remaining(run) == [stops[0].pk, stops[1].pk, stops[2].pk, recovered.pk]
    recovered.refresh_from_db()
    assert (recovered.window_start, recovered.window_end) == (local(14), local(16))
    assert recovered.planned_arrival is not None
    assert recovered.planned_arrival <= local(16)
    assert recovered.status == Stop.Status.PENDING
    assert_feasible(run)


def test_the_shift_end_refuses_a_same_day_slot_and_offers_tomorrows_run(dave, erin):
    _run, stops = run_with_stops(dave, [1, 2, 3], end=(11, 0))
    failed = failed_at(stops[0])
    place(dave, 1)
    tomorrow, _ = run_with_stops(erin, [4], day=TOMORROW, status=Run.Status.PLANNED)

    change = services.stop_reinsert(
        stop_id=failed.pk, window_start=local(14), window_end=local(16), requested_by="test", allow_later_run=False
    )

    assert not change.placed
    assert change.reason.startswith("No same-day slot")
    assert change.alternative is not None
    assert change.alternative.run_id == tomorrow.pk
    assert change.alternative.service_date == TOMORROW
    assert not PlanVersion.objects.exists()
    assert len(remaining(tomorrow)) == 1


def test_with_no_same_day_slot_the_stop_moves_to_the_next_service_days_run(dave, erin):
    _run, stops = run_with_stops(dave, [1, 2, 3], end=(11, 0))
    failed = failed_at(stops[0])
    place(dave, 1)
    tomorrow, theirs = run_with_stops(erin, [4, 6], day=TOMORROW, status=Run.Status.PLANNED)

    change = services.stop_reinsert(stop_id=failed.pk, window_start=local(14), window_end=local(16), requested_by="t")

    assert change.placed
    assert change.operation == PlanVersion.Operation.MOVE_TO_LATER_RUN
    assert not change.same_day
    failed.refresh_from_db()
    assert failed.status == Stop.Status.RESCHEDULED
    assert change.stop_id is not None
    moved = Stop.objects.get(pk=change.stop_id)
    assert moved.run == tomorrow
    assert moved.order == failed.order
    assert moved.status == Stop.Status.PENDING
    # "After 2 pm" carries over to tomorrow's date.
    assert (moved.window_start, moved.window_end) == (local(14, day=TOMORROW), local(16, day=TOMORROW))
    # Served last: nobody waits for 14:00 before Erin's other two stops.
    assert remaining(tomorrow) == [theirs[0].pk, theirs[1].pk, moved.pk]
    assert_feasible(tomorrow, now=local(8, day=TOMORROW))
    skip = DriverInstruction.objects.get(driver=dave, kind=DriverInstruction.Kind.SKIP)
    assert skip.stop_id == failed.pk


def test_a_later_run_today_comes_before_tomorrow(dave, erin):
    _run, stops = run_with_stops(dave, [1, 2], end=(11, 0))
    failed = failed_at(stops[0])
    evening, _ = run_with_stops(erin, [3], start=(13, 0), end=(19, 0), status=Run.Status.PLANNED)
    run_with_stops(erin, [3], day=TOMORROW, status=Run.Status.PLANNED)

    change = services.stop_reinsert(stop_id=failed.pk, window_start=local(14), window_end=None, requested_by="t")

    assert change.placed
    assert change.run_id == evening.pk
    assert change.same_day
    assert_feasible(evening)


def _far_from_dave(dave, erin):
    """Dave is 20 km north with stops at 20, 21 and 22 km; the recovered stop is 1 km south and must be
    served by 10:40. Erin works right beside it. For Dave it is a 42 km, 73 min detour."""
    run, stops = run_with_stops(dave, [-1, 20, 21, 22])
    failed = failed_at(stops[0])
    Stop.objects.filter(pk=failed.pk).update(window_end=local(10, 40))
    place(dave, 20)
    theirs, _ = run_with_stops(erin, [-0.9, -1.1])
    place(erin, -0.5)
    return run, failed, theirs


def test_capacity_is_never_exceeded(dave, erin):
    erin.vehicle_capacity = 2
    erin.save()
    run, failed, theirs = _far_from_dave(dave, erin)

    change = services.stop_reinsert(stop_id=failed.pk, window_start=None, window_end=local(10, 40), requested_by="t")

    assert change.placed
    assert change.run_id == run.pk
    assert remaining(run)[0] == failed.pk
    assert_feasible(run)
    assert_feasible(theirs)


def test_another_driver_takes_it_when_that_saves_more_than_the_handover(dave, erin):
    _run, failed, theirs = _far_from_dave(dave, erin)

    change = services.stop_reinsert(stop_id=failed.pk, window_start=None, window_end=local(10, 40), requested_by="t")

    # Erin's detour is 3 min of service plus the 20 min handover; Dave's is 73 min.
    assert change.placed
    assert change.run_id == theirs.pk
    assert "handover" in change.summary
    failed.refresh_from_db()
    assert failed.status == Stop.Status.RESCHEDULED
    assert_feasible(theirs)


def test_a_parcel_handed_back_to_a_run_it_left_takes_its_old_stop_row(dave, erin):
    run, failed, theirs = _far_from_dave(dave, erin)
    there = services.stop_reinsert(stop_id=failed.pk, window_start=None, window_end=local(10, 40), requested_by="t")
    assert there.run_id == theirs.pk
    moved = Stop.objects.get(run=theirs, order=failed.order)
    # It fails on Erin's run too; she has delivered the rest and left; Dave is now the one beside it.
    failed_at(moved)
    Stop.objects.filter(run=theirs, status=Stop.Status.PENDING).update(status=Stop.Status.DELIVERED)
    place(dave, -0.5)
    place(erin, 30)  # 31 km away: too far to be back by 10:40

    back = services.stop_reinsert(stop_id=moved.pk, window_start=None, window_end=local(10, 40), requested_by="t")

    assert (back.placed, back.run_id) == (True, run.pk)
    assert Stop.objects.filter(run=run, order=failed.order).count() == 1
    failed.refresh_from_db()
    assert failed.status == Stop.Status.PENDING
    assert failed.pk in remaining(run)
    assert_feasible(run)


def test_every_change_makes_a_plan_version_and_tells_the_driver(dave):
    run, stops = run_with_stops(dave, [1, 2, 3, 2.5])
    failed = failed_at(stops[3])
    place(dave, 1)
    before = remaining(run)

    change = services.stop_reinsert(stop_id=failed.pk, window_start=None, window_end=None, requested_by="Case #7")

    run.refresh_from_db()
    version = PlanVersion.objects.get(run=run)
    assert (run.plan_version, version.version, change.plan_version) == (2, 2, 2)
    assert version.requested_by == "Case #7"
    assert version.operation == PlanVersion.Operation.REINSERT
    assert version.before == before
    assert version.after == remaining(run)
    assert version.added_seconds == change.added_seconds
    assert version.stop_id == failed.pk
    instruction = DriverInstruction.objects.get(driver=dave, kind=DriverInstruction.Kind.ROUTE_UPDATED)
    assert instruction.payload["plan_version"] == 2
    assert [row["stop_id"] for row in instruction.payload["sequence"]] == remaining(run)
    assert [row["sequence"] for row in instruction.payload["sequence"]] == sorted(
        row["sequence"] for row in instruction.payload["sequence"]
    )
    assert "4821" not in instruction.text


def test_a_proposal_on_a_stale_version_is_not_written(dave):
    run, stops = run_with_stops(dave, [1, 2, 3, 4, 2.5, 3.5])
    first, second = failed_at(stops[4]), failed_at(stops[5])
    place(dave, 1)
    stale, _ = services.reinsert_find(stop=_loaded(second), window_start=None, window_end=None, now=NOW)
    assert stale is not None
    services.stop_reinsert(stop_id=first.pk, window_start=None, window_end=None, requested_by="t")

    with pytest.raises(StalePlan):
        services.proposal_apply(proposal=stale, stop=_loaded(second), requested_by="t")
    second.refresh_from_db()
    assert second.status == Stop.Status.FAILED
    assert PlanVersion.objects.count() == 1

    # Asked again, it is placed on the current version, next to the first one.
    change = services.stop_reinsert(stop_id=second.pk, window_start=None, window_end=None, requested_by="t")
    assert change.plan_version == 3
    assert remaining(run) == [stops[0].pk, stops[1].pk, first.pk, stops[2].pk, second.pk, stops[3].pk]
    assert_feasible(run)


def _loaded(stop: Stop) -> Stop:
    return Stop.objects.select_related("order__address", "run__depot", "run__driver").get(pk=stop.pk)


def test_nothing_is_moved_when_no_run_anywhere_can_take_it(dave):
    run, stops = run_with_stops(dave, [1, 2], end=(11, 0))
    failed = failed_at(stops[0])

    change = services.stop_reinsert(stop_id=failed.pk, window_start=local(14), window_end=None, requested_by="t")

    assert not change.placed
    assert "No same-day slot" in change.reason
    assert "no run is planned in the next 7 days" in change.reason
    failed.refresh_from_db()
    assert failed.status == Stop.Status.FAILED
    assert failed.run == run


def test_resequencing_untangles_a_run_and_keeps_the_stop_the_driver_is_at_first(dave):
    run, stops = run_with_stops(dave, [3, 1, 4, 2, 5])
    Stop.objects.filter(pk=stops[2].pk).update(status=Stop.Status.ARRIVED)
    place(dave, 4)

    change = services.run_resequence(run_id=run.pk, requested_by="Alice", time_limit=0.5)

    assert change.placed
    assert change.added_seconds < 0
    assert remaining(run)[0] == stops[2].pk
    assert set(remaining(run)) == {s.pk for s in stops}
    assert PlanVersion.objects.get(run=run).operation == PlanVersion.Operation.RESEQUENCE
    assert_feasible(run)

    again = services.run_resequence(run_id=run.pk, requested_by="Alice", time_limit=0.5)
    assert not again.placed
    assert "already the best" in again.reason


def test_a_recipients_new_window_reaches_the_plan_and_the_case_timeline(
    dave, outreach, eager_tasks, django_capture_on_commit_callbacks
):
    run, stops = run_with_stops(dave, [1, 2, 3])
    place(dave, 1)
    case = fail(stops[0], "RECIPIENT_ABSENT")
    workflow.case_triage(case_id=case.pk)
    place(dave, 1)

    with django_capture_on_commit_callbacks(execute=True):
        workflow.case_reply_apply(
            case_id=case.pk,
            understood=Understanding(intent=ReplyIntent.RESCHEDULE, window_start=local(14), window_end=local(16)),
        )

    case.refresh_from_db()
    assert (case.state, case.outcome) == (ExceptionCase.State.RESOLVED, ExceptionCase.Outcome.RESCHEDULED_SAME_DAY)
    assert remaining(run)[-1] == stops[0].pk
    event = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.ROUTE_CHANGE).last()
    assert event is not None
    assert event.payload["plan_version"] == 2
    stops[0].refresh_from_db()
    assert stops[0].status == Stop.Status.PENDING
    assert stops[0].order.status == Order.Status.OUT_FOR_DELIVERY
    assert_feasible(run)


def _asks_for(case: ExceptionCase, start: dt.datetime, end: dt.datetime | None) -> None:
    """The recipient asked for a window; the case waits for routing's slot."""
    workflow.case_triage(case_id=case.pk)
    workflow.case_reply_apply(
        case_id=case.pk, understood=Understanding(intent=ReplyIntent.RESCHEDULE, window_start=start, window_end=end)
    )


def test_a_day_with_no_plan_yet_takes_the_parcel_into_that_days_plan(dave, outreach):
    _run, stops = run_with_stops(dave, [1, 2, 3])
    case = fail(stops[0], "RECIPIENT_ABSENT")
    monday = TODAY + dt.timedelta(days=5)
    _asks_for(case, local(17, 0, monday), local(20, 0, monday))

    change = adapter.case_slot_find(case_id=case.pk, window_start=local(17, 0, monday), window_end=local(20, 0, monday))

    assert change is not None
    assert not change.placed
    case.refresh_from_db()
    assert (case.state, case.outcome) == (ExceptionCase.State.RESOLVED, ExceptionCase.Outcome.RESCHEDULED_LATER)
    assert case.outcome_detail["planned_day"] == monday.isoformat()
    assert not case.touched_by_dispatcher
    assert case.escalated_at is None
    stops[0].refresh_from_db()
    assert stops[0].status == Stop.Status.RESCHEDULED
    order = Order.objects.get(pk=stops[0].order_id)
    assert (order.status, order.window_start, order.window_end) == (
        Order.Status.RESCHEDULED,
        local(17, 0, monday),
        local(20, 0, monday),
    )
    skip = DriverInstruction.objects.get(driver=dave, kind=DriverInstruction.Kind.SKIP)
    assert skip.stop_id == stops[0].pk
    assert not PlanVersion.objects.exists()


def test_a_planned_day_with_no_room_still_goes_to_a_dispatcher(dave, erin, outreach):
    _run, stops = run_with_stops(dave, [1, 2, 3])
    case = fail(stops[0], "RECIPIENT_ABSENT")
    erin.vehicle_capacity = 1
    erin.save()
    run_with_stops(erin, [4], day=TOMORROW, status=Run.Status.PLANNED)  # planned, and full
    _asks_for(case, local(9, 0, TOMORROW), local(10, 0, TOMORROW))

    adapter.case_slot_find(case_id=case.pk, window_start=local(9, 0, TOMORROW), window_end=local(10, 0, TOMORROW))

    case.refresh_from_db()
    assert case.state == ExceptionCase.State.ESCALATED
    assert case.escalation_reason.startswith("Routing found no slot")


def test_a_case_resolved_meanwhile_gets_no_plan_change(dave, alice, outreach):
    _run, stops = run_with_stops(dave, [1, 2, 3])
    case = fail(stops[0], "RECIPIENT_ABSENT")
    workflow.case_triage(case_id=case.pk)
    workflow.case_reply_apply(
        case_id=case.pk, understood=Understanding(intent=ReplyIntent.RESCHEDULE, window_start=local(14))
    )
    case.refresh_from_db()
    workflow.case_resolve(
        case_id=case.pk, user=alice, version=case.version, outcome=ExceptionCase.Outcome.PICKUP_POINT, note="Collects"
    )

    change = adapter.case_slot_find(case_id=case.pk, window_start=local(14), window_end=None)

    assert change is None
    assert not PlanVersion.objects.exists()


def test_an_admin_re_sequences_runs_from_the_run_list(
    client, admin_user, dave, eager_tasks, django_capture_on_commit_callbacks
):
    run, _ = run_with_stops(dave, [3, 1, 4, 2])
    done, _ = run_with_stops(dave, [1, 2], start=(6, 0), status=Run.Status.COMPLETED)
    place(dave, 0)
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/dispatch/run/",
            {"action": "resequence", "_selected_action": [run.pk, done.pk]},
            follow=True,
        )

    assert response.status_code == 200
    assert "1 run(s) queued for re-sequencing" in response.content.decode()
    # 0-3-1-4-2-0 is 12 km; out and back along the line is 8 km, whatever order the way back takes.
    version = PlanVersion.objects.get()
    assert abs(version.added_metres + 4000) <= 2
    assert version.run == run
    assert version.user == admin_user
    assert version.requested_by == f"Admin {admin_user.username}"
    assert_feasible(run)
