"""The recipient's self-service page: where their parcel is, and what the order's policy lets them choose.

Server-rendered, in the recipient's language, for a phone. Each choice is a small form; a valid one becomes the
reply it stands for (``outreach.links``) and the page comes back with what was understood. A closed link shows a
page that says so and nothing of the parcel.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from dispatch.models import PickupPoint, Stop
from outreach import ports, wording
from outreach.links import Opened, link_choice, link_open, link_seen, too_many
from outreach.outcome_words import opening_words
from outreach.readback import day_heading, heard_words, hour_words, hours_words, next_words, when_words
from outreach.understanding.meaning import ReplyIntent, Understanding, place_words

WHY = "chosen on the self-service page"
# Delivery hours (the labelling conventions'): a window is two hours today, a part of the day after.
DAY_START, DAY_END = 8, 20
PARTS = ((8, 12), (12, 17), (17, 20))
DAYS_AHEAD = 3

SAFE_PLACES = (
    ("front porch", _("On the front porch")),
    ("back door", _("At the back door")),
    ("garage", _("In the garage")),
    ("front desk", _("At the front desk or mailroom")),
)
# What the page says after a choice with no read-back of its own (a code is never shown back).
TAKEN = {
    ReplyIntent.ACCESS_CODE: _("Thank you: the driver has the code and will be back to try again."),
    ReplyIntent.CALL_REQUEST: _("Thank you: someone from our team will call you."),
    ReplyIntent.REFUSE: _("Thank you: we have told our team you don't want this parcel."),
}
_CODE = re.compile(r"^[#*]?[A-Za-z0-9][A-Za-z0-9 #*-]{1,15}$")


class CodeForm(forms.Form):
    code = forms.CharField(label=_("Gate or door code"), max_length=17)

    def clean_code(self) -> str:
        code = str(self.cleaned_data["code"]).strip()
        if not _CODE.match(code):
            raise forms.ValidationError(_("Type the code as you would on the keypad: digits, letters, # or *."))
        return code


class WindowForm(forms.Form):
    window = forms.ChoiceField(label=_("When"), widget=forms.RadioSelect)

    def __init__(self, *args: Any, windows: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["window"]).choices = windows


class PlaceForm(forms.Form):
    place = forms.ChoiceField(
        label=_("Where"), widget=forms.RadioSelect, choices=[*SAFE_PLACES, ("other", _("Somewhere else"))]
    )
    other = forms.CharField(label=_("Where exactly"), max_length=80, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if cleaned.get("place") == "other" and not str(cleaned.get("other") or "").strip():
            self.add_error("other", _("Tell us where to leave it."))
        return cleaned


class NeighbourForm(forms.Form):
    name = forms.CharField(label=_("Their name"), max_length=60)
    unit = forms.CharField(label=_("Their door, unit or house number"), max_length=30)


class PickupForm(forms.Form):
    point = forms.ChoiceField(label=_("Pickup point"), widget=forms.RadioSelect)

    def __init__(self, *args: Any, points: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["point"]).choices = points


class RefuseForm(forms.Form):
    sure = forms.BooleanField(label=_("Yes, I don't want this parcel"))


class EmptyForm(forms.Form):
    pass


def _candidate_windows(now: dt.datetime, zone: Any) -> list[tuple[dt.datetime, dt.datetime]]:
    """Two-hour windows still ahead today (from the next hour), then a morning, afternoon and evening a day."""
    local = now.astimezone(zone)
    windows = []
    for hour in range(max(DAY_START, local.hour + 1), DAY_END, 2):
        start = dt.datetime.combine(local.date(), dt.time(hour), tzinfo=zone)
        windows.append((start, min(start + dt.timedelta(hours=2), start.replace(hour=DAY_END))))
    for ahead in range(1, DAYS_AHEAD + 1):
        day = local.date() + dt.timedelta(days=ahead)
        windows += [
            (dt.datetime.combine(day, dt.time(a), tzinfo=zone), dt.datetime.combine(day, dt.time(b), tzinfo=zone))
            for a, b in PARTS
        ]
    return windows


def _window_value(start: dt.datetime, end: dt.datetime) -> str:
    return f"{start.isoformat()}/{end.isoformat()}"


class _Page:
    """What the page shows and offers for a live link, in the active language."""

    def __init__(self, opened: Opened, now: dt.datetime) -> None:
        assert opened.link is not None
        self.opened = opened
        self.link = opened.link
        self.stop: Stop = self.link.stop
        self.order = self.stop.order
        self.recipient = self.link.recipient
        self.zone = self.recipient.time_zone or self.stop.run.depot.time_zone
        self.now = now
        self.language = self.recipient.language
        windows = ports.desk().windows_open(stop=self.stop, windows=_candidate_windows(now, self.zone), now=now)
        # Grouped by day: "tomorrow (Tue 8 Dec)": "8 am to 12 pm", "12 to 5 pm", ...
        today = now.astimezone(self.zone).date()
        by_day: dict[dt.date, list[tuple[str, str]]] = {}
        for start, end in windows:
            local_start, local_end = start.astimezone(self.zone), end.astimezone(self.zone)
            by_day.setdefault(local_start.date(), []).append(
                (_window_value(start, end), hours_words(local_start, local_end, language=self.language))
            )
        self.windows: list[Any] = [
            (day_heading(day, today=today, language=self.language), choices) for day, choices in by_day.items()
        ]
        points = PickupPoint.objects.filter(depot_id=self.stop.run.depot_id, active=True)
        self.points = {str(point.pk): point for point in points}
        # Before the driver comes (a notice's link) rather than after a failed attempt.
        self.ahead = opened.conversation is not None and opened.conversation.case_id is None
        self.can_leave = not self.order.drop_refusal(neighbour=False)
        self.can_neighbour = not self.order.drop_refusal(neighbour=True)

    def offers(self, data: Any = None, chosen: str = "") -> dict[str, forms.Form]:
        def bound(name: str) -> Any:
            return data if name == chosen else None

        point_choices = [
            (key, f"{point.name}, {point.address} · {opening_words(point, self.language)}")
            for key, point in self.points.items()
        ]
        found: dict[str, forms.Form] = {"code": CodeForm(bound("code"), prefix="code")}
        if not self.ahead:
            # After a failed attempt: the driver may still be near, a person may call, the parcel may go back.
            found["home"] = EmptyForm(bound("home"), prefix="home")
            found["call"] = EmptyForm(bound("call"), prefix="call")
            found["refuse"] = RefuseForm(bound("refuse"), prefix="refuse")
        if self.windows:
            found["window"] = WindowForm(bound("window"), prefix="window", windows=self.windows)
        if self.can_leave:
            found["place"] = PlaceForm(bound("place"), prefix="place")
        if self.can_neighbour:
            found["neighbour"] = NeighbourForm(bound("neighbour"), prefix="neighbour")
        if point_choices and not self.ahead:
            found["pickup"] = PickupForm(bound("pickup"), prefix="pickup", points=point_choices)
        return found

    def understood(self, chosen: str, form: forms.Form) -> tuple[Understanding, str]:
        """The reply a valid choice stands for, and how the conversation shows it (in the desk's English)."""
        data = form.cleaned_data
        if chosen == "code":
            return Understanding(intent=ReplyIntent.ACCESS_CODE, code=data["code"], why=WHY), f"Code: {data['code']}"
        if chosen == "window":
            start, end = (dt.datetime.fromisoformat(part) for part in data["window"].split("/"))
            words = when_words(start=start, end=end, now=self.now, zone=self.zone, language="en")
            understood = Understanding(intent=ReplyIntent.RESCHEDULE, window_start=start, window_end=end, why=WHY)
            return understood, f"Come back {words}"
        if chosen == "place":
            place = str(data["other"]).strip() if data["place"] == "other" else data["place"]
            return Understanding(intent=ReplyIntent.SAFE_DROP, detail=place, why=WHY), f"Leave it {place_words(place)}"
        if chosen == "neighbour":
            who = f"{data['name'].strip()}, {data['unit'].strip()}"
            return Understanding(intent=ReplyIntent.NEIGHBOR, detail=who, why=WHY), f"Leave it with {who}"
        if chosen == "pickup":
            point = self.points[data["point"]]
            understood = Understanding(intent=ReplyIntent.PICKUP_POINT, detail=point.name, why=WHY)
            return understood, f"I'll collect it at {point}"
        intent, said = {
            "home": (ReplyIntent.AVAILABLE_NOW, "I'm home now"),
            "call": (ReplyIntent.CALL_REQUEST, "Call me"),
            "refuse": (ReplyIntent.REFUSE, "I don't want it"),
        }[chosen]
        return Understanding(intent=intent, why=WHY), said

    def thanks(self, understood: Understanding) -> str:
        """What the page says it understood: what the read-back text says, but never a code shown back."""
        if understood.intent in TAKEN:
            return str(TAKEN[understood.intent])
        heard = heard_words(heard=understood, now=self.now, zone=self.zone, language=self.language)
        what = {ReplyIntent.RESCHEDULE: "slot", ReplyIntent.PICKUP_POINT: "pickup_point"}.get(
            understood.intent, "driver"
        )
        return f"{heard[:1].upper()}{heard[1:]}. {next_words(what=what, language=self.language)}"

    def status(self) -> dict[str, Any]:
        """The parcel's state in words, and when the driver plans to come if they are on their way."""
        failed = self.stop.scans.filter(reason_code__isnull=False).select_related("reason_code").order_by("-id").first()
        problem = ""
        if self.stop.status == Stop.Status.FAILED and failed is not None and failed.reason_code is not None:
            problem = wording.problem_words(failed.reason_code, self.language)
        eta, before = "", 0
        arrival = (
            ports.desk().stop_eta(stop=self.stop, now=self.now) if self.stop.status == Stop.Status.PENDING else None
        )
        if arrival is not None:
            # To the quarter hour: a van's arrival is no surer than that.
            local = arrival.astimezone(self.zone)
            eta = hour_words(local.replace(minute=local.minute - local.minute % 15), meridiem=True)
            before = Stop.objects.filter(
                run_id=self.stop.run_id, status=Stop.Status.PENDING, sequence__lt=self.stop.sequence
            ).count()
        return {"problem": problem, "eta": eta, "stops_before": before}


@never_cache
@require_http_methods(["GET", "POST"])
def recipient_page(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    if too_many(token=token, address=request.META.get("REMOTE_ADDR", "")):
        return _closed(request, "busy", language=None, status=429)
    opened = link_open(token=token, now=now)
    if opened.closed:
        language = opened.link.recipient.language if opened.link is not None else None
        return _closed(request, opened.closed, language=language, status=404 if opened.closed == "unknown" else 410)
    assert opened.link is not None
    with translation.override(opened.link.recipient.language):
        page = _Page(opened, now)
        chosen = str(request.POST.get("choice", "")) if request.method == "POST" else ""
        offered = page.offers(request.POST if chosen else None, chosen)
        if chosen:
            form = offered.get(chosen)
            if form is not None and form.is_valid():
                understood, said = page.understood(chosen, form)
                nonce = str(request.POST.get("nonce", ""))[:40] or secrets.token_hex(8)
                link_choice(opened=opened, understood=understood, said=f"On the page: {said}", nonce=nonce, now=now)
                messages.success(request, page.thanks(understood))
                return HttpResponseRedirect(request.path)
        else:
            link_seen(opened.link, now)
        context = {
            "page": page,
            "order": page.order.reference,
            "first_name": page.recipient.first_name,
            "status": page.status(),
            "offered": offered,
            "chosen": chosen,
            "nonce": secrets.token_hex(16),
            "language": page.language,
        }
        return render(request, "recipient/page.html", context, status=400 if chosen else 200)


def _closed(request: HttpRequest, why: str, *, language: str | None, status: int) -> HttpResponse:
    """A link that does not open: why, in the recipient's language when known, and nothing of the parcel."""
    language = language or translation.get_language_from_request(request)
    with translation.override(language):
        return render(request, "recipient/closed.html", {"why": why, "language": language}, status=status)
