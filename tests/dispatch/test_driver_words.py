"""What dispatch tells a driver: every sentence in each language with the same specifics, written out in the
driver's language when it is pushed, and in English for the desk's own record."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.utils.functional import Promise
from django.utils.text import format_lazy

from dispatch import driver_words
from dispatch.driver_words import written
from dispatch.models import Driver
from dispatch.services.instructions import instruction_push

PLACEHOLDER = re.compile(r"\{(\w+)\}")
TRANSLATED = [code for code, _ in settings.LANGUAGES if code != "en"]


def sentences() -> dict[str, Promise]:
    found: dict[str, Promise] = {}
    for name, value in vars(driver_words).items():
        if isinstance(value, Promise) and name != "REORDERED":  # a plural: below
            found[name] = value
        elif isinstance(value, dict):
            found.update({f"{name}[{key}]": item for key, item in value.items() if isinstance(item, Promise)})
    return found


def test_there_is_a_catalogue_besides_english():
    assert TRANSLATED


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_sentence_a_driver_reads_is_translated_with_the_same_specifics(language):
    assert len(sentences()) > 25
    for name, sentence in sentences().items():
        english, translated = written(sentence, "en"), written(sentence, language)
        assert translated != english, f"{name} is not translated into {language}"
        assert set(PLACEHOLDER.findall(translated)) == set(PLACEHOLDER.findall(english)), name


def test_a_count_of_stops_is_plural_where_it_is_more_than_one():
    assert written(format_lazy(driver_words.REORDERED, count=1), "es") == (
        "Se reordenaron tus paradas: queda 1 parada. Sigue el nuevo orden."
    )
    assert written(format_lazy(driver_words.REORDERED, count=7), "en") == (
        "Your stops were re-ordered: 7 stops left. Follow the new order."
    )


@pytest.mark.django_db
def test_an_instruction_is_written_in_the_drivers_language_and_in_english_until_they_choose(dave, erin, dave_stop):
    Driver.objects.filter(pk=dave.pk).update(language="es")
    sentence = format_lazy(driver_words.COMING_DOWN, minutes=5)

    spanish = instruction_push(driver=Driver.objects.get(pk=dave.pk), kind="wait", text=sentence, stop=dave_stop)
    english = instruction_push(driver=erin, kind="wait", text=sentence)

    assert spanish.text == "El destinatario está bajando: espera hasta 5 min en esta parada."
    assert english.text == "The recipient is coming down: wait up to 5 min at this stop."
    assert erin.language == ""


def test_a_safe_drop_names_the_recipients_place_or_says_out_of_sight():
    assert written(driver_words.safe_drop("back porch"), "es") == (
        "Entrega sin firma aprobada: back porch. Déjalo ahí y haz una foto."
    )
    assert written(driver_words.safe_drop("  "), "en") == "Safe drop approved: leave it out of sight and take a photo."
    assert written(driver_words.verified_code("gate"), "es") == (
        "Hay un código del portón verificado: míralo en la app y vuelve a intentarlo."
    )
