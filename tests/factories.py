"""Factories for the domain, and the people tests are written about.

Personas (fixtures in tests/conftest.py): Alice dispatches at the Chicago depot;
Carol dispatches there too (Alice's teammate); Bob dispatches at Milwaukee (an
outsider to Chicago's cases); Dave drives for Chicago; Erin drives there too (a
teammate whose stops Dave must not see); Oscar drives for Milwaukee (an outsider).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import factory
from django.utils import timezone

from dispatch import models
from exceptions.models import ExceptionCase

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def local(hour: int, minute: int = 0, day: dt.date | None = None) -> dt.datetime:
    day = day or timezone.now().astimezone(CHICAGO).date()
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=CHICAGO)


class DepotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Depot
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"depot-{n}")
    name = factory.Sequence(lambda n: f"Depot {n}")
    time_zone = "America/Chicago"
    latitude = 41.8847
    longitude = -87.6633


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("correct-horse-battery")


class DriverFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Driver

    user = factory.SubFactory(UserFactory)
    depot = factory.SubFactory(DepotFactory)
    phone = factory.Sequence(lambda n: f"+1312555{100 + n % 100:04d}")
    vehicle_capacity = 120


class RunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Run

    driver = factory.SubFactory(DriverFactory)
    depot = factory.SelfAttribute("driver.depot")
    service_date = factory.LazyFunction(lambda: timezone.now().astimezone(CHICAGO).date())
    shift_start = factory.LazyAttribute(lambda run: local(8, 0, run.service_date))
    shift_end = factory.LazyAttribute(lambda run: local(17, 0, run.service_date))


class _InFirstDepot(factory.django.DjangoModelFactory):
    """A recipient or address created on its own belongs to the test's depot (the first one), or a new one."""

    depot = None

    @classmethod
    def _create(cls, model_class: type, *args: object, **kwargs: object) -> object:
        if kwargs.get("depot") is None:
            kwargs["depot"] = models.Depot.objects.order_by("pk").first() or DepotFactory()
        return super()._create(model_class, *args, **kwargs)


class RecipientFactory(_InFirstDepot):
    class Meta:
        model = models.Recipient

    name = factory.Faker("name")
    phone = factory.Sequence(lambda n: f"+1773555{100 + n % 100:04d}")
    language = "en"


class AddressFactory(_InFirstDepot):
    class Meta:
        model = models.Address

    line1 = factory.Sequence(lambda n: f"{1200 + n * 2} N Milwaukee Ave")
    city = "Chicago"
    region = "IL"
    postal_code = "60622"
    latitude = 41.9037
    longitude = -87.6702


class AccessCredentialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.AccessCredential

    address = factory.SubFactory(AddressFactory)
    kind = models.AccessCredential.Kind.GATE
    secret = "4821"


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Order

    reference = factory.Sequence(lambda n: f"LM-{88200 + n}")
    depot = factory.SubFactory(DepotFactory)
    recipient = factory.SubFactory(RecipientFactory, depot=factory.SelfAttribute("..depot"))
    address = factory.SubFactory(AddressFactory, depot=factory.SelfAttribute("..depot"))
    declared_value = Decimal("45.00")


class StopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Stop

    run = factory.SubFactory(RunFactory)
    order = factory.SubFactory(OrderFactory, depot=factory.SelfAttribute("..run.depot"))
    sequence = factory.Sequence(lambda n: n + 1)


def reason(code: str) -> models.ReasonCode:
    """Reason codes are seeded by a migration; tests use the real ones."""
    return models.ReasonCode.objects.get(code=code)


class ScanEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ScanEvent

    stop = factory.SubFactory(StopFactory)
    driver = factory.SelfAttribute("stop.run.driver")
    outcome = models.ScanEvent.Outcome.FAILED
    reason_code = factory.LazyFunction(lambda: reason("ACCESS_DENIED"))
    device_time = factory.LazyFunction(timezone.now)
    idempotency_key = factory.Sequence(lambda n: f"scan-{n}")


class ExceptionCaseFactory(factory.django.DjangoModelFactory):
    """An open case for a failed scan: stop, order, depot and reason all come from the scan."""

    class Meta:
        model = ExceptionCase

    scan = factory.SubFactory(ScanEventFactory)
    stop = factory.SelfAttribute("scan.stop")
    order = factory.SelfAttribute("scan.stop.order")
    depot = factory.SelfAttribute("scan.stop.run.depot")
    reason_code = factory.SelfAttribute("scan.reason_code")


class PreArrivalContactFactory(factory.django.DjangoModelFactory):
    """The text to a risky stop's recipient before the driver comes; ``answered=True`` for one they replied to."""

    class Meta:
        model = "exceptions.PreArrivalContact"

    class Params:
        answered = factory.Trait(
            status="answered",
            answered_at=factory.LazyAttribute(lambda contact: contact.created_at + dt.timedelta(minutes=4)),
        )

    stop = factory.SubFactory(StopFactory)
    score = 0.6
    asked = factory.LazyFunction(lambda: ["access_code"])
    status = "asked"
    created_at = factory.LazyFunction(timezone.now)
