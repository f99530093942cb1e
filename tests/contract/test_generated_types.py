"""The TypeScript types an integrator generates from our schema (openapi-typescript) check under `tsc --strict`.

Both tools are pinned in package.json and installed by the test command's front-end build. The usage
file is what a driver app written in TypeScript does with the types: hand the feed's cursor back, build a
scan, read which reason codes need a photo.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "node_modules" / ".bin"
USAGE = """\
import type { components, paths } from "./api";

type FeedQuery = NonNullable<paths["/api/v1/driver/instructions"]["get"]["parameters"]["query"]>;
declare const page: components["schemas"]["InstructionFeedOutput"];
// The cursor goes back as it came: one type in and out.
export const after: NonNullable<FeedQuery["after"]> = page.next_cursor;

export const scan: components["schemas"]["ScanFormRequest"] = {
  outcome: "failed",
  reason_code: "DAMAGED",
  device_time: new Date().toISOString(),
};

declare const codes: components["schemas"]["ReasonCodesOutput"];
export const needsPhoto: boolean[] = codes.reason_codes.map((code) => code.photo_required);

declare const run: components["schemas"]["RunOutput"];
export const firstStop: number | undefined = run.stops[0]?.id;
"""


def test_typescript_types_from_the_schema_check_under_strict(openapi_schema, tmp_path):
    assert (BIN / "tsc").exists(), "node_modules is not built: run scripts/build_static.sh (`make test` does)"
    generated = subprocess.run(
        [str(BIN / "openapi-typescript"), str(openapi_schema), "--output", str(tmp_path / "api.d.ts")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    (tmp_path / "usage.ts").write_text(USAGE)

    checked = subprocess.run(
        [str(BIN / "tsc"), "--strict", "--noEmit", "--target", "es2022", "--module", "es2022",
         "--moduleResolution", "bundler", str(tmp_path / "usage.ts")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_driver_app_is_written_against_the_types_generated_from_the_schema_as_it_is(openapi_schema, tmp_path):
    """static/driver/ is plain JavaScript whose JSDoc types come from static/driver/schema.d.ts: that file is what
    openapi-typescript makes of the schema today, and the app checks against it under tsc --strict."""
    generated = subprocess.run(
        [str(BIN / "openapi-typescript"), str(openapi_schema), "--output", str(tmp_path / "schema.d.ts")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    kept = ROOT / "static" / "driver" / "schema.d.ts"
    assert kept.read_text() == (tmp_path / "schema.d.ts").read_text(), (
        "static/driver/schema.d.ts is out of date: run scripts/driver_types.sh"
    )

    checked = subprocess.run(
        [str(BIN / "tsc"), "-p", str(ROOT / "static" / "driver")], capture_output=True, text=True, timeout=120
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
