"""What the database benchmarks share: their scratch database and their section of RESULTS.md."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def ensure_database(url: str) -> None:
    """Create the scratch database named in ``url`` if it does not exist yet."""
    import dj_database_url
    import psycopg2
    from psycopg2 import sql

    cfg = dj_database_url.parse(url)
    conn = psycopg2.connect(dbname="postgres", user=cfg["USER"], host=cfg["HOST"], port=cfg["PORT"])
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]])
        if not cursor.fetchone():
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(cfg["NAME"])))
    conn.close()


def results_record(*, heading: str, section: str) -> None:
    """Replace the section under ``heading`` in RESULTS.md (or append it) with ``section``."""
    text = RESULTS.read_text()
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    RESULTS.write_text(text.rstrip() + "\n")
