"""The contract suite: what an integrator generates from our OpenAPI schema, used as generated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def openapi_schema(tmp_path_factory) -> Path:
    """The schema as `manage.py spectacular` writes it for an integrator (JSON)."""
    schema = tmp_path_factory.mktemp("schema") / "schema.json"
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--api-version", "v1", "--format", "openapi-json",
         "--file", str(schema)],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return schema
