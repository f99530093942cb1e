"""What a recipient reads: every text and every outcome, in every language, says something a person understands.

Each default wording and each outcome's text is rendered in English and Spanish and checked for leftovers: a
placeholder not filled, a label the desk uses among its own (an outcome's, a reason code's, a text's purpose), or
an English word in the Spanish text. The catalogue holds every phrase, and its compiled form is the one in git.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import trans_real

from dispatch.models import PickupPoint, ReasonCode, Stop
from exceptions.models import ExceptionCase
from outreach import outcome_words, readback, wording
from outreach.adapter import SmsOutreach
from outreach.models import Message, MessageTemplate
from outreach.understanding.meaning import ReplyIntent, Understanding
from tests.clock import CHICAGO, local
from tests.helpers import fail

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
CATALOGUE = ROOT / "locale" / "es" / "LC_MESSAGES"
LANGUAGES = [code for code, _ in settings.LANGUAGES]
Outcome = ExceptionCase.Outcome

# What fills the placeholders: words a recipient might have written, and our own values.
CONTEXT = {
    "first_name": "Ana",
    "order": "LM-49654",
    "problem": "",
    "ask": "",
    "heard": "",
    "next": "",
    "code": "4417",
    "place": "",
    "neighbour": "Mrs Rossi in 3B",
    "when": "",
    "pickup": "",
}
# Words a carrier's keywords need in every language, and the names and numbers the context carries.
KEPT = {"CALL", "LLAMAR", "STOP", "OK", "LOCKER", "Ana", "Rossi", "Walgreens", "Ashland", "Mrs"}


def _internal_labels() -> set[str]:
    """The desk's own names for things: outcomes, states, reason codes (a text's purpose is snake_case)."""
    labels = {label for _, label in Outcome.choices}
    labels |= {label for _, label in ExceptionCase.State.choices}
    labels |= set(ReasonCode.objects.values_list("label", flat=True))
    labels |= set(ReasonCode.objects.values_list("code", flat=True))
    return {label for label in labels if len(label) > 3}


def _leftovers(text: str, *, language: str, english: str) -> list[str]:
    """What in ``text`` a recipient should not read: braces, internal labels, English words in another language."""
    found = [f"placeholder in {text!r}" for _ in re.findall(r"[{}]", text)][:1]
    # A label of one word ("Cancelled") shows as itself; "has been cancelled" is a sentence.
    found += [
        f"label {label!r}"
        for label in _internal_labels()
        if (label.lower() in text.lower() if " " in label else re.search(rf"\b{label}\b", text))
    ]
    found += [f"snake_case {word!r}" for word in re.findall(r"\b[a-z]+_[a-z_]+\b", text)]
    if language != "en":
        theirs = set(re.findall(r"[A-Za-z']{4,}", text)) - KEPT
        found += [f"English {word!r}" for word in set(re.findall(r"[A-Za-z']{4,}", english)) & theirs]
    return found


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("key", MessageTemplate.Key.values)
def test_every_default_wording_reads_whole_in_every_language(key, language, chicago):
    reason = ReasonCode.objects.get(code="RECIPIENT_ABSENT")
    arrival = local(14, 30)
    context = {
        **CONTEXT,
        "problem": wording.problem_words(reason, language),
        "ask": wording.asks_words(["access_code", "availability"], language=language, arrival=arrival, zone=CHICAGO),
        "place": readback.place_words("back porch", language),
        "when": readback.when_words(
            start=local(15), end=local(17), now=local(10), zone=CHICAGO, language=language, on=True
        ),
        "heard": readback.heard_words(
            heard=Understanding(intent=ReplyIntent.SAFE_DROP, detail="back porch"),
            now=local(10),
            zone=CHICAGO,
            language=language,
        ),
        "next": readback.next_words(what="driver", language=language),
    }
    point = PickupPoint(depot=chicago, name="Walgreens", address="1550 N Ashland Ave", open_days="012345")
    context["pickup"] = outcome_words.pickup_words(point, chicago, language)
    computed = ("problem", "ask", "place", "when", "heard", "next", "pickup")
    english_context = {**context, **dict.fromkeys(computed, "")}

    text, written_in = wording.text(key, language, context)
    english, _ = wording.text(key, "en", english_context)

    assert written_in == language
    assert set(wording.placeholders(str(wording.DEFAULTS[key]))) <= wording.PLACEHOLDERS[key]
    assert _leftovers(text, language=language, english=english) == []
    if language != "en":
        assert text != wording.text(key, "en", context)[0]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_outcome_says_what_happens_when_and_where_in_the_recipients_language(language, dave_stop, chicago):
    case = fail(dave_stop)
    recipient = case.order.recipient
    recipient.language, recipient.quiet_hours_start, recipient.quiet_hours_end = language, dt.time(0), dt.time(0)
    recipient.save()
    walgreens = PickupPoint.objects.create(
        depot=chicago, name="Walgreens", address="1550 N Ashland Ave", opens=dt.time(8), closes=dt.time(21)
    )
    tomorrow = timezone.localdate(timezone.now(), CHICAGO) + dt.timedelta(days=1)
    Stop.objects.filter(pk=dave_stop.pk).update(planned_arrival=local(15, 40))
    details = {
        Outcome.DELIVERED_ON_RETRY: {},
        Outcome.ACCESS_CODE_PROVIDED: {},
        Outcome.SAFE_DROP: {"place": "back porch"},
        Outcome.NEIGHBOUR: {"neighbour": "Mrs Rossi in 3B"},
        Outcome.RESCHEDULED_LATER: {
            "window_start": dt.datetime.combine(tomorrow, dt.time(15), tzinfo=CHICAGO).isoformat(),
            "window_end": dt.datetime.combine(tomorrow, dt.time(17), tzinfo=CHICAGO).isoformat(),
        },
        Outcome.RESCHEDULED_SAME_DAY: {"window_start": None, "new_stop_id": dave_stop.pk},
        Outcome.PICKUP_POINT: {"pickup_point_id": walgreens.pk},
        Outcome.RETURNED_TO_SENDER: {},
        Outcome.CANCELLED: {},
    }
    spoken: dict[Outcome, str] = {}
    for outcome, detail in details.items():
        case.outcome, case.outcome_detail, case.version = outcome, detail, case.version + 1
        SmsOutreach().notify_outcome(case=case)
        spoken[outcome] = Message.objects.filter(conversation__case=case).latest("pk").body

    with translation.override(language):
        day = f"{tomorrow:%d}".lstrip("0")
    expected = {
        "en": {
            Outcome.DELIVERED_ON_RETRY: f"Hi {recipient.first_name}, your parcel {case.order.reference} has been "
            "delivered.",
            Outcome.SAFE_DROP: "it was left at the back porch.",
            Outcome.NEIGHBOUR: "it was left with Mrs Rossi in 3B.",
            Outcome.RESCHEDULED_LATER: f"we'll bring your parcel {case.order.reference} tomorrow (Thu {day} Nov) "
            "between 3 and 5 pm.",
            Outcome.RESCHEDULED_SAME_DAY: "today between 3 and 5 pm.",
            Outcome.PICKUP_POINT: "is going to Walgreens, 1550 N Ashland Ave (open every day, 8 am-9 pm), where you "
            "can collect it.",
            Outcome.RETURNED_TO_SENDER: "is going back to the sender.",
            Outcome.CANCELLED: "has been cancelled.",
        },
        "es": {
            Outcome.DELIVERED_ON_RETRY: f"Hola {recipient.first_name}, su paquete {case.order.reference} ha sido "
            "entregado.",
            Outcome.SAFE_DROP: "lo dejamos en back porch.",
            Outcome.NEIGHBOUR: "lo dejamos con Mrs Rossi in 3B.",
            Outcome.RESCHEDULED_LATER: f"le llevaremos su paquete {case.order.reference} mañana (jue {day} nov) "
            "entre las 3 y las 5 p. m.",
            Outcome.RESCHEDULED_SAME_DAY: "hoy entre las 3 y las 5 p. m.",
            Outcome.PICKUP_POINT: "irá a Walgreens, 1550 N Ashland Ave (abierto todos los días, de 8 a. m. a 9 "
            "p. m.), donde puede recogerlo.",
            Outcome.RETURNED_TO_SENDER: "se devuelve al remitente.",
            Outcome.CANCELLED: "ha sido cancelada.",
        },
    }[language]
    for outcome, words in expected.items():
        assert words in spoken[outcome], (outcome, spoken[outcome])
    for outcome, text in spoken.items():
        assert _leftovers(text, language=language, english=spoken[outcome] if language == "en" else "") == [], outcome


def test_an_admins_reason_code_without_wording_reads_as_a_general_phrase_not_its_label():
    reason = ReasonCode.objects.create(code="LIFT_OUT", label="Lift out of order", category="access")

    assert wording.problem_words(reason, "es") == "el repartidor no pudo completar la entrega"
    assert wording.problem_words(reason, "en") == "the driver could not complete the delivery"


# --- The catalogue --------------------------------------------------------------------------------------------------


def _phrases() -> list[Promise]:
    """Every phrase a recipient may read: the lazy strings of the modules that write to them."""
    found: list[Promise] = []
    for module in (wording, readback, outcome_words):
        for value in vars(module).values():
            values = value.values() if isinstance(value, dict) else [value]
            found += [item for item in values if isinstance(item, Promise)]
    return found


def test_the_catalogue_translates_every_phrase_a_recipient_reads():
    catalogue = trans_real.translation("es")._catalog  # type: ignore[attr-defined]
    untranslated = []
    for phrase in _phrases():
        args = phrase._args  # type: ignore[attr-defined]
        key = "\x04".join(args) if len(args) == 2 else args[0]
        if not catalogue.get(key):
            untranslated.append(args)
    assert len(_phrases()) > 60
    assert untranslated == []


def test_the_catalogue_is_what_makemessages_writes_every_phrase_translated_and_compiled(tmp_path, settings):
    for tool in ("msgfmt", "xgettext", "msgmerge", "msgcmp"):
        assert shutil.which(tool), (
            f"GNU gettext's {tool} is needed (apt install gettext): scripts/bootstrap.sh does it."
        )
    # makemessages over a copy of what holds marked phrases, so the repository's catalogue is only read.
    source = tmp_path / "source"
    for part in ("dispatch", "outreach", "templates", "locale"):
        shutil.copytree(ROOT / part, source / part)
    settings.LOCALE_PATHS = [source / "locale"]
    with contextlib.chdir(source):
        call_command("makemessages", locale=["es"], no_location=True, verbosity=0)
    fresh = source / "locale" / "es" / "LC_MESSAGES" / "django.po"
    stale = [line for line in fresh.read_text().splitlines() if line.startswith("#~")]
    assert stale == [], "phrases no longer in the code: run manage.py makemessages -l es --no-location"
    # Every phrase the code marks has a translation (msgcmp counts an empty or fuzzy one as missing).
    missing = subprocess.run(
        ["msgcmp", str(CATALOGUE / "django.po"), str(fresh)], capture_output=True, text=True, check=False
    )
    assert missing.returncode == 0, f"run manage.py makemessages -l es --no-location and translate:\n{missing.stderr}"
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(CATALOGUE / "django.po")], check=True)
    with compiled.open("rb") as handle:
        expected = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    with (CATALOGUE / "django.mo").open("rb") as handle:
        committed = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    assert committed == expected, "locale/es/LC_MESSAGES/django.mo is stale: run manage.py compilemessages"
