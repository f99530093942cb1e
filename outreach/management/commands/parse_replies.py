import csv
import datetime as dt
import zoneinfo
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from outreach.understanding import reply_understand

REQUIRED = ("id", "reason_code", "sent_at", "reply")
OUTPUT = ("id", "intent", "code", "window_start", "window_end", "detail", "sure", "doubt")


class Command(BaseCommand):
    help = (
        "Understand recipient replies from a CSV (id, reason_code, sent_at, reply) and write "
        "id, intent, code, window_start, window_end, detail, sure (yes/no) and doubt (why not sure) as CSV "
        "to stdout."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="CSV with a header naming id, reason_code, sent_at, reply.")
        parser.add_argument(
            "--time-zone",
            default="America/Chicago",
            help="The depot's and recipients' zone, for reading times in replies (default America/Chicago).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        zone = _zone(options["time_zone"])
        try:
            handle = path.open(newline="", encoding="utf-8-sig")
        except FileNotFoundError:
            raise CommandError(f"{path}: no such file. Give the path to a CSV of replies.") from None
        except OSError as error:
            raise CommandError(f"{path}: cannot be read ({error.strerror}).") from None
        with handle:
            reader = csv.DictReader(handle)
            missing = [name for name in REQUIRED if name not in (reader.fieldnames or [])]
            if missing:
                found = ", ".join(reader.fieldnames or []) or "no header"
                raise CommandError(
                    f"{path}: missing column(s) {', '.join(missing)}. "
                    f"The header must name {', '.join(REQUIRED)} (found: {found})."
                )
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(OUTPUT)
            for line, row in enumerate(reader, start=2):
                understood = reply_understand(
                    text=row["reply"] or "",
                    sent_at=_sent_at(row["sent_at"], zone=zone, where=f"{path}, line {line}"),
                    time_zone=zone,
                    reason_code=row["reason_code"] or "",
                )
                writer.writerow(
                    [
                        row["id"],
                        understood.intent,
                        understood.code,
                        understood.window_start.isoformat() if understood.window_start else "",
                        understood.window_end.isoformat() if understood.window_end else "",
                        understood.detail,
                        "yes" if understood.sure else "no",
                        understood.doubt,
                    ]
                )


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise CommandError(
            f"--time-zone {name!r} is not a known zone; use an IANA name like America/Chicago."
        ) from None


def _sent_at(value: str | None, *, zone: zoneinfo.ZoneInfo, where: str) -> dt.datetime:
    try:
        sent_at = dt.datetime.fromisoformat((value or "").strip())
    except ValueError:
        raise CommandError(
            f"{where}: sent_at {value!r} is not an ISO 8601 time, e.g. 2026-11-18T10:12:00-06:00."
        ) from None
    # Without an offset the time is taken as local to the depot, which is how dispatchers write it.
    return sent_at if sent_at.tzinfo is not None else sent_at.replace(tzinfo=zone)
