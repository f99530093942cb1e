"""The driver app opens without a network: its service worker keeps every file the app is made of."""

from __future__ import annotations

from pathlib import Path

from dispatch.driver_app import SHELL_FILES

STATIC = Path(__file__).resolve().parents[2] / "static"


def test_every_script_and_style_of_the_app_is_kept_for_offline_use():
    made_of = {
        f"driver/{path.name}" for path in (STATIC / "driver").iterdir() if path.suffix in (".js", ".css", ".svg")
    }
    assert made_of - set(SHELL_FILES) == set()
    assert all((STATIC / name).is_file() for name in SHELL_FILES)
