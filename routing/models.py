"""Routing settings: how the solver runs and how travel times are estimated. Admins edit the one row."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

# km/h by hour of day, local time: rush hours are slower in town.
CITY_SPEEDS_KMH = [
    32.0, 34.0, 34.0, 34.0, 32.0, 28.0, 22.0, 18.0, 18.0, 22.0, 24.0, 24.0,
    23.0, 23.0, 23.0, 21.0, 18.0, 18.0, 22.0, 26.0, 28.0, 30.0, 30.0, 32.0,
]  # fmt: skip


def city_speeds() -> list[float]:
    return list(CITY_SPEEDS_KMH)


class RoutingSettings(models.Model):
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
