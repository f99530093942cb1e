"""A realistic service day for the demo, the benchmarks and the simulation: ``demo_day_seed``.

One depot in Chicago's West Loop, drivers with one run each, and a day of
failed-stop material: houses, multi-unit buildings, gated townhomes and
businesses on real streets, placed with Chicago's address grid; recipients with
fictional names and 555-01xx numbers; access codes in the vault; and a month of
past failures at some addresses.

Everything is drawn from ``random.Random(seed)`` and placed relative to the
service date, so one seed always gives the same day, whatever the date.
Seeding replaces the previous demo day instead of adding to it: the day is
planned in memory (``demo.day.plan``), then written here in one transaction,
with the demo's logins.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Model, ProtectedError, Q, QuerySet
from django.utils import timezone

from demo.day.depot import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    BATCH,
    DEMO_PREFIX,
    DEPOT_ADDRESS,
    DEPOT_CODE,
    DEPOT_LATITUDE,
    DEPOT_LONGITUDE,
    DEPOT_NAME,
    DEPOT_TIME_ZONE,
    DISPATCHER_PASSWORD,
    DISPATCHER_USERNAME,
    DRIVER_PASSWORD,
    PICKUP_POINTS,
    SHIFT_START,
    DemoSeedError,
    size_check,
)
from demo.day.plan import day_plan
from dispatch import roles
from dispatch.models import (
    AccessCredential,
    Address,
    Depot,
    Driver,
    Order,
    PickupPoint,
    ReasonCode,
    Recipient,
    Run,
    ScanEvent,
    Stop,
    User,
)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


@dataclass(frozen=True)
class DemoDaySummary:
    depot_code: str
    depot_name: str
    time_zone: str
    service_date: dt.date
    drivers: int
    runs: int
    stops: int
    orders: int
    recipients: int
    addresses: int
    stops_by_building: dict[str, int]
    timed_window_stops: int
    all_day_window_stops: int
    late_runs: int
    credentials: int
    verified_credentials: int
    flagged_credentials: int
    history_addresses: int
    past_runs: int
    past_failed_scans: int
    logins: tuple[DemoLogin, ...]
    driver_usernames: tuple[str, ...]


def _dependents_delete(targets: dict[type[Model], QuerySet[Any]]) -> None:
    """Delete rows of other apps (exception cases, messages...) that point at the rows in ``targets``.

    Those apps protect their references to stops, orders and scans, so the
    demo day's rows cannot go until what points at them has gone. Found from
    the model graph, so a new app's model needs no change here. Models that
    protect each other are retried until a pass makes no progress.
    """
    pending: list[QuerySet[Any]] = []
    for model in apps.get_models():
        if model._meta.app_label == Depot._meta.app_label:
            continue
        condition = Q()
        for model_field in model._meta.concrete_fields:
            target = model_field.related_model
            if model_field.is_relation and target in targets:
                condition |= Q(**{f"{model_field.name}__in": targets[target]})
        if condition:
            pending.append(model._default_manager.filter(condition).only("pk"))
    while pending:
        blocked: list[QuerySet[Any]] = []
        for queryset in pending:
            try:
                with transaction.atomic():
                    queryset.delete()
            except ProtectedError:
                blocked.append(queryset)
        if len(blocked) == len(pending):
            raise _protected_error(blocked[0])
        pending = blocked


def _protected_error(queryset: QuerySet[Any]) -> DemoSeedError:
    return DemoSeedError(
        f"The previous demo day cannot be replaced: {queryset.model._meta.label} rows still point at it "
        "and are protected. Delete them, or let their foreign keys cascade."
    )


def _previous_demo_delete(*, depot: Depot, driver_usernames: Iterable[str]) -> None:
    """Remove the previous demo day, dependents first, with set-wide deletes."""
    usernames = list(driver_usernames)
    clash = User.objects.filter(username__in=usernames, driver__isnull=False).exclude(driver__depot=depot).first()
    if clash is not None:
        raise DemoSeedError(
            f"User {clash.username!r} drives for another depot, and the demo needs that username for its drivers; "
            "rename that user or ask for fewer --drivers."
        )
    # Ids first: the user and driver filters go through rows deleted below. The demo's drivers keep
    # their user accounts (and the tokens issued to them); drivers beyond today's count go.
    driver_user_ids = list(
        User.objects.filter(driver__depot=depot).exclude(username__in=usernames).values_list("id", flat=True)
    )
    driver_ids = list(Driver.objects.filter(depot=depot).values_list("id", flat=True))
    recipients = Recipient.objects.filter(depot=depot, external_id__startswith=DEMO_PREFIX)
    addresses = Address.objects.filter(depot=depot, external_ref__startswith=DEMO_PREFIX)
    orders = Order.objects.filter(Q(depot=depot) | Q(recipient__in=recipients) | Q(address__in=addresses))
    runs = Run.objects.filter(Q(depot=depot) | Q(driver_id__in=driver_ids))
    stops = Stop.objects.filter(Q(run__in=runs) | Q(order__in=orders))
    scans = ScanEvent.objects.filter(Q(stop__in=stops) | Q(driver_id__in=driver_ids))
    _dependents_delete(
        {
            ScanEvent: scans,
            Stop: stops,
            Run: runs,
            Order: orders,
            Driver: Driver.objects.filter(id__in=driver_ids),
            User: User.objects.filter(id__in=driver_user_ids),
            AccessCredential: AccessCredential.objects.filter(address__in=addresses),
            Address: addresses,
            Recipient: recipients,
        }
    )
    try:
        # Children first, loading only keys, so Django's collector does not
        # build thousands of full instances just to cascade.
        scans.delete()
        stops.only("pk").delete()
        runs.only("pk").delete()
        orders.only("pk").delete()
        Driver.objects.filter(id__in=driver_ids).only("pk").delete()
        User.objects.filter(id__in=driver_user_ids).only("pk").delete()
        addresses.only("pk").delete()  # and their vault entries
        recipients.only("pk").delete()
    except ProtectedError as exc:
        blocking = sorted({obj._meta.label for obj in exc.protected_objects})
        raise DemoSeedError(
            f"The previous demo day cannot be replaced: {', '.join(blocking)} rows still point at it. "
            "Delete those rows, or let their foreign keys cascade."
        ) from exc


def _demo_user_upsert(*, username: str, password_hash: str, group: Group, superuser: bool, first_name: str) -> User:
    user, _ = User.objects.update_or_create(
        username=username,
        defaults={
            "password": password_hash,
            "is_staff": True,
            "is_superuser": superuser,
            "is_active": True,
            "first_name": first_name,
            "last_name": "(demo)",
            "email": f"{username}@example.com",
        },
    )
    user.groups.set([group])
    return user


def demo_day_seed(
    *,
    stops: int = 2000,
    drivers: int = 40,
    seed: int = 1,
    service_date: dt.date | None = None,
    time_zone: str = DEPOT_TIME_ZONE,
    shift_start: dt.time = SHIFT_START,
) -> DemoDaySummary:
    """Replace the demo depot's day with a new one: ``stops`` stops over ``drivers`` runs on ``service_date``.

    The service date defaults to today in the depot's time zone, ``time_zone``
    (Chicago's unless a demo day starting now moves it, ``demo.day.clock``).
    Most shifts start at ``shift_start``. A seed gives the same day on any date;
    only the dates move. The demo's drivers keep their user accounts, and so
    the API tokens issued to them, from one seeding to the next.
    """
    size_check(stops=stops, drivers=drivers)
    tz = zoneinfo.ZoneInfo(time_zone)
    service_date = service_date or timezone.now().astimezone(tz).date()
    width = max(2, len(str(drivers)))
    driver_usernames = [f"driver{i:0{width}d}" for i in range(1, drivers + 1)]

    # PBKDF2 is the slowest single step; hashlib releases the GIL, so the three
    # hashes run beside the planning and the writes. All drivers share one hash.
    with ThreadPoolExecutor(max_workers=3) as hasher:
        hashes: dict[str, Future[str]] = {
            password: hasher.submit(make_password, password)
            for password in (ADMIN_PASSWORD, DISPATCHER_PASSWORD, DRIVER_PASSWORD)
        }
        with transaction.atomic():
            groups = {
                g.name: g for g in Group.objects.filter(name__in=[roles.ADMINS, roles.DISPATCHERS, roles.DRIVERS])
            }
            missing = {roles.ADMINS, roles.DISPATCHERS, roles.DRIVERS} - set(groups)
            if missing:
                raise DemoSeedError(f"Role groups {sorted(missing)} are missing; run `manage.py migrate` first.")
            depot, _ = Depot.objects.update_or_create(
                code=DEPOT_CODE,
                defaults={
                    "name": DEPOT_NAME,
                    "time_zone": time_zone,
                    "address": DEPOT_ADDRESS,
                    "latitude": DEPOT_LATITUDE,
                    "longitude": DEPOT_LONGITUDE,
                },
            )
            _previous_demo_delete(depot=depot, driver_usernames=driver_usernames)
            for name, street, latitude, longitude, opens, closes, days in PICKUP_POINTS:
                PickupPoint.objects.update_or_create(
                    depot=depot,
                    name=name,
                    defaults={
                        "address": street,
                        "latitude": latitude,
                        "longitude": longitude,
                        "opens": opens,
                        "closes": closes,
                        "open_days": days,
                    },
                )
            plan = day_plan(
                random.Random(seed),
                seed=seed,
                depot=depot,
                stops=stops,
                driver_usernames=driver_usernames,
                service_date=service_date,
                shift_start=shift_start,
                tz=tz,
                reason_codes=ReasonCode.objects.in_bulk(field_name="code"),
            )
            taken = set(
                Order.objects.filter(depot=depot, reference__in=[o.reference for o in plan.orders]).values_list(
                    "reference", flat=True
                )
            )
            spares = iter(plan.spare_references)
            for order in plan.orders:
                if order.reference in taken:
                    order.reference = next(spares)

            # Parents first; bulk_create fills in the primary keys the children point at.
            for delivery in plan.deliveries:
                delivery.recipient.depot = delivery.address.depot = depot
            Recipient.objects.bulk_create([d.recipient for d in plan.deliveries], batch_size=BATCH)
            Address.objects.bulk_create([d.address for d in plan.deliveries], batch_size=BATCH)
            AccessCredential.objects.bulk_create(plan.credentials, batch_size=BATCH)
            driver_hash = hashes[DRIVER_PASSWORD].result()
            for user in plan.driver_users:
                user.password = driver_hash
            User.objects.bulk_create(
                plan.driver_users,
                batch_size=BATCH,
                update_conflicts=True,
                unique_fields=["username"],
                update_fields=["first_name", "last_name", "email", "password", "is_active"],
            )
            User.groups.through.objects.bulk_create(
                [User.groups.through(user_id=user.pk, group_id=groups[roles.DRIVERS].pk) for user in plan.driver_users],
                ignore_conflicts=True,
            )
            Driver.objects.bulk_create(plan.drivers, batch_size=BATCH)
            Run.objects.bulk_create(plan.runs + plan.past_runs, batch_size=BATCH)
            Order.objects.bulk_create(plan.orders, batch_size=BATCH)
            Stop.objects.bulk_create(plan.stops, batch_size=BATCH)
            ScanEvent.objects.bulk_create(plan.scans, batch_size=BATCH)

            admin = _demo_user_upsert(
                username=ADMIN_USERNAME,
                password_hash=hashes[ADMIN_PASSWORD].result(),
                group=groups[roles.ADMINS],
                superuser=True,
                first_name="Demo",
            )
            dispatcher = _demo_user_upsert(
                username=DISPATCHER_USERNAME,
                password_hash=hashes[DISPATCHER_PASSWORD].result(),
                group=groups[roles.DISPATCHERS],
                superuser=False,
                first_name="Dana",
            )
            dispatcher.depots.set([depot])
            # A fictional 555 number: the board's Call rings it first, on the fake Twilio.
            User.objects.filter(pk=dispatcher.pk).update(phone="+13125550199")

    stops_by_building: dict[str, int] = defaultdict(int)
    for delivery in plan.deliveries:
        stops_by_building[delivery.site.building_type] += 1
    today = len(plan.deliveries)
    first_driver, last_driver = driver_usernames[0], driver_usernames[-1]
    return DemoDaySummary(
        depot_code=depot.code,
        depot_name=depot.name,
        time_zone=time_zone,
        service_date=service_date,
        drivers=drivers,
        runs=len(plan.runs),
        stops=today,
        orders=today,
        recipients=today,
        addresses=today,
        stops_by_building=dict(stops_by_building),
        timed_window_stops=plan.timed_window_stops,
        all_day_window_stops=plan.all_day_window_stops,
        late_runs=plan.late_runs,
        credentials=len(plan.credentials),
        verified_credentials=sum(1 for c in plan.credentials if c.is_verified),
        flagged_credentials=sum(1 for c in plan.credentials if c.is_flagged),
        history_addresses=plan.history_addresses,
        past_runs=len(plan.past_runs),
        past_failed_scans=sum(1 for s in plan.scans if s.outcome == ScanEvent.Outcome.FAILED),
        logins=(
            DemoLogin(admin.username, ADMIN_PASSWORD, "admin (superuser)"),
            DemoLogin(dispatcher.username, DISPATCHER_PASSWORD, f"dispatcher at {depot.code}"),
            DemoLogin(f"{first_driver}..{last_driver}" if drivers > 1 else first_driver, DRIVER_PASSWORD, "drivers"),
        ),
        driver_usernames=tuple(driver_usernames),
    )
