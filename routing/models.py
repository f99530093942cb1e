"""Routing settings: how the solver runs and how travel times are estimated. Admins edit the one row."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from dispatch.singleton import SingletonModel

# km/h by hour of day, local time: rush hours are slower in town.
CITY_SPEEDS_KMH = [
    32.0, 34.0, 34.0, 34.0, 32.0, 28.0, 22.0, 18.0, 18.0, 22.0, 24.0, 24.0,
    23.0, 23.0, 23.0, 21.0, 18.0, 18.0, 22.0, 26.0, 28.0, 30.0, 30.0, 32.0,
]  # fmt: skip


def city_speeds() -> list[float]:
    return list(CITY_SPEEDS_KMH)


class RoutingSettings(SingletonModel):
    class FirstSolution(models.TextChoices):
        PARALLEL_CHEAPEST_INSERTION = "PARALLEL_CHEAPEST_INSERTION", "Parallel cheapest insertion"
        LOCAL_CHEAPEST_INSERTION = "LOCAL_CHEAPEST_INSERTION", "Local cheapest insertion"
        SAVINGS = "SAVINGS", "Savings"
        PATH_CHEAPEST_ARC = "PATH_CHEAPEST_ARC", "Path cheapest arc"
        AUTOMATIC = "AUTOMATIC", "Let OR-Tools choose"

    class Metaheuristic(models.TextChoices):
        GUIDED_LOCAL_SEARCH = "GUIDED_LOCAL_SEARCH", "Guided local search"
        TABU_SEARCH = "TABU_SEARCH", "Tabu search"
        SIMULATED_ANNEALING = "SIMULATED_ANNEALING", "Simulated annealing"
        GREEDY_DESCENT = "GREEDY_DESCENT", "Greedy descent"
        AUTOMATIC = "AUTOMATIC", "Let OR-Tools choose"

    reinsert_time_limit_s = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0.05), MaxValueValidator(30)],
        help_text="Seconds the solver may spend fitting a recovered stop into the day.",
    )
    resequence_time_limit_s = models.FloatField(
        default=1.5,
        validators=[MinValueValidator(0.1), MaxValueValidator(60)],
        help_text="Seconds the solver may spend re-sequencing one run.",
    )
    first_solution_strategy = models.CharField(
        max_length=32, choices=FirstSolution.choices, default=FirstSolution.PARALLEL_CHEAPEST_INSERTION
    )
    metaheuristic = models.CharField(
        max_length=32, choices=Metaheuristic.choices, default=Metaheuristic.GUIDED_LOCAL_SEARCH
    )
    circuity = models.FloatField(
        default=1.35,
        validators=[MinValueValidator(1.0), MaxValueValidator(3.0)],
        help_text="Road distance over straight-line distance (1.3-1.4 in a street grid).",
    )
    speed_profile_kmh = ArrayField(
        models.FloatField(validators=[MinValueValidator(1), MaxValueValidator(130)]),
        size=24,
        default=city_speeds,
        help_text="Average speed for each hour of the day (0-23, depot time), comma-separated.",
    )
    handover_minutes = models.PositiveIntegerField(
        default=20,
        validators=[MaxValueValidator(24 * 60)],
        help_text=(
            "What moving a recovered parcel to another driver's van costs, in minutes: another run takes it "
            "only when that saves more than this."
        ),
    )
    later_run_days = models.PositiveIntegerField(
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(31)],
        help_text="How many service days ahead a stop with no slot today may be moved.",
    )
    osrm_url = models.URLField(
        blank=True, help_text="An OSRM server's base URL for road travel times; empty uses straight lines."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "routing settings"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="routing_settings_single_row")]

    def __str__(self) -> str:
        return "Routing settings"

    def clean(self) -> None:
        if len(self.speed_profile_kmh or []) != 24:
            raise ValidationError({"speed_profile_kmh": "Give 24 speeds, one for each hour from 0 to 23."})


class PlanVersion(models.Model):
    """One change to a run's plan: what asked for it, the order before and after, and what it cost."""

    class Operation(models.TextChoices):
        REINSERT = "reinsert", "Recovered stop re-inserted"
        MOVE_TO_LATER_RUN = "move_to_later_run", "Stop moved to a later run"
        RESEQUENCE = "resequence", "Remaining stops re-sequenced"

    run = models.ForeignKey("dispatch.Run", on_delete=models.CASCADE, related_name="plan_versions")
    version = models.PositiveIntegerField(help_text="The run's plan version this change created.")
    operation = models.CharField(max_length=20, choices=Operation.choices)
    requested_by = models.CharField(max_length=120, help_text="Who or what asked: a case, a dispatcher, an admin.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    case = models.ForeignKey(
        "exceptions.ExceptionCase",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="plan_versions",
    )
    stop = models.ForeignKey(
        "dispatch.Stop",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The stop placed by this change, if one was.",
    )
    before = models.JSONField(default=list, help_text="Remaining stop ids in order, before.")
    after = models.JSONField(default=list, help_text="Remaining stop ids in order, after.")
    added_seconds = models.IntegerField(default=0, help_text="Change in the run's planned return time.")
    added_metres = models.IntegerField(default=0)
    solve_ms = models.PositiveIntegerField(default=0)
    summary = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "-version"]
        constraints = [models.UniqueConstraint(fields=["run", "version"], name="plan_version_unique_per_run")]

    def __str__(self) -> str:
        return f"{self.run_id} v{self.version} · {self.get_operation_display()}"
