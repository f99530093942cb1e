"""The product reads the time from Django's clock, so a test's or `simulate_day`'s moved clock reaches all of it.

Postgres keeps its own clock: ``now()``, ``CURRENT_TIMESTAMP`` or Django's ``Now()`` in a query would
disagree with ``timezone.now()`` whenever the clock is moved (a frozen test, a simulated day).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("config", "dispatch", "exceptions", "outreach", "routing")
DATABASE_CLOCK = re.compile(
    r"(?i:(?<![\w.])(?<!def )now\(\)"  # SQL's now(), not timezone.now()
    r"|\bCURRENT_(TIMESTAMP|DATE|TIME)\b|\b(statement|transaction|clock)_timestamp\()"
    r"|\bNow\(\)"  # django.db.models.functions.Now
)


def test_no_query_reads_the_database_servers_clock():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if DATABASE_CLOCK.search(line)
    ]

    assert found == [], "take the time from timezone.now() and pass it in:\n" + "\n".join(found)
