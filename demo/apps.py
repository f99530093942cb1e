"""The demo app: ``seed_demo``, ``simulate_day`` and the fakes, for a developer's machine and the tests."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = "Demo and simulation"
