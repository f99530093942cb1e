"""How well reply understanding reads labelled corpora, by the shared scorer's criteria.

    .venv/bin/python bench/reading.py CORPUS.csv [CORPUS.csv ...] [--misses]

For each corpus: replies understood (intent and entity right), intent right, precision and recall per intent,
the confusion matrix (rows: the label, columns: the reading), and misreads: readings other than UNCLEAR that are
wrong, split into those the desk would act on (sure) and those it would first confirm with the recipient (unsure,
for a code, a drop or an opt-out) or read back (other intents). A reply is understood when
``shared/benchmarks/replies/score.py`` says so; that file must be beside the repository. No database.
"""

from __future__ import annotations

import argparse
import collections
import csv
import datetime as dt
import importlib.util
import os
import sys
import zoneinfo
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCORER = ROOT.parent / "shared" / "benchmarks" / "replies" / "score.py"
ZONE = zoneinfo.ZoneInfo("America/Chicago")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpora", nargs="+", type=Path, help="labelled CSVs (id, reason_code, sent_at, reply, labels)")
    parser.add_argument("--misses", action="store_true", help="also list every reply not understood")
    args = parser.parse_args()
    if not SCORER.exists():
        parser.error(f"the scorer is not at {SCORER}: check out the shared benchmarks beside the repository")
    missing = [str(p) for p in args.corpora if not p.exists()]
    if missing:
        parser.error(f"no such corpus: {', '.join(missing)}")
    spec = importlib.util.spec_from_file_location("score", SCORER)
    assert spec is not None
    assert spec.loader is not None
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from outreach.understanding import reply_understand

    for path in args.corpora:
        with path.open(newline="", encoding="utf-8") as handle:
            gold = list(csv.DictReader(handle))
        rows = []
        for g in gold:
            got = reply_understand(
                text=g["reply"],
                sent_at=dt.datetime.fromisoformat(g["sent_at"]),
                time_zone=ZONE,
                reason_code=g["reason_code"],
            )
            pred = {
                "intent": str(got.intent),
                "code": got.code,
                "window_start": got.window_start.isoformat() if got.window_start else "",
                "window_end": got.window_end.isoformat() if got.window_end else "",
                "detail": got.detail,
            }
            right = pred["intent"] == g["intent"] and score.entity_ok(g, pred)
            rows.append((g, pred, right, got.sure))
        report(path, rows, misses=args.misses)
    return 0


def report(path: Path, rows: list[tuple[dict[str, str], dict[str, Any], bool, bool]], *, misses: bool) -> None:
    n = len(rows)
    understood = sum(right for _, _, right, _ in rows)
    intent_right = sum(p["intent"] == g["intent"] for g, p, _, _ in rows)
    wrong = [(g, p, sure) for g, p, right, sure in rows if not right and p["intent"] != "UNCLEAR"]
    sure_wrong = [w for w in wrong if w[2]]
    print(f"## {path.name}: {n} replies\n")
    print(
        f"- understood: {understood}/{n} ({100 * understood / n:.1f} %); intent right: {intent_right}/{n} "
        f"({100 * intent_right / n:.1f} %)"
    )
    print(
        f"- misreads (a reading other than UNCLEAR that is wrong): {len(wrong)} ({_one_in(len(wrong), n)}); "
        f"of them sure, acted on without asking: {len(sure_wrong)} ({_one_in(len(sure_wrong), n)})"
    )
    unsure = sum(1 for _, p, _, sure in rows if not sure and p["intent"] != "UNCLEAR")
    print(f"- readings not sure (confirmed or read back before they count): {unsure}\n")

    intents = sorted({g["intent"] for g, _, _, _ in rows} | {p["intent"] for _, p, _, _ in rows})
    print("| intent | labelled | read | understood | precision | recall |")
    print("|---|---:|---:|---:|---:|---:|")
    for intent in intents:
        labelled = [r for r in rows if r[0]["intent"] == intent]
        read = [r for r in rows if r[1]["intent"] == intent]
        hits = sum(1 for r in read if r[2])
        precision = f"{100 * hits / len(read):.0f} %" if read else "-"
        recall = f"{100 * sum(r[2] for r in labelled) / len(labelled):.0f} %" if labelled else "-"
        print(f"| {intent} | {len(labelled)} | {len(read)} | {hits} | {precision} | {recall} |")

    counts = collections.Counter((g["intent"], p["intent"]) for g, p, _, _ in rows)
    short = {i: i.replace("_", " ").title().replace(" ", "")[:8] for i in intents}
    print("\nConfusion (rows: label, columns: reading)\n")
    print("| label \\ read | " + " | ".join(short[i] for i in intents) + " |")
    print("|---|" + "---:|" * len(intents))
    for label in intents:
        cells = [str(counts[(label, read)] or "·") for read in intents]
        print(f"| {short[label]} | " + " | ".join(cells) + " |")
    print()
    if misses:
        for g, p, right, sure in rows:
            if not right:
                entity = p["code"] or p["window_start"] or p["detail"]
                label = g["code"] or g["window_start"] or g["detail"]
                flag = "" if p["intent"] == "UNCLEAR" else (" SURE" if sure else " unsure")
                print(f"- {g['id']} {g['reply']!r}: {g['intent']} {label} → {p['intent']} {entity}{flag}")
        print()


def _one_in(k: int, n: int) -> str:
    return "none" if k == 0 else f"1 in {n / k:.0f}"


if __name__ == "__main__":
    sys.exit(main())
