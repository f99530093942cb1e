"""The demo's management commands: ``seed_demo`` and ``simulate_day``."""
