import logging

from config.logging import mask_phone_numbers


def test_it_masks_phone_numbers_in_any_spelling():
    text = "sent to +13125550142, alt (773) 555-0199 and 312-555-0101"
    assert mask_phone_numbers(text) == "sent to ***42, alt ***99 and ***01"


def test_it_leaves_short_numbers_alone():
    assert mask_phone_numbers("order LM-88204 stop 14 code 4821") == "order LM-88204 stop 14 code 4821"


def test_it_masks_numbers_before_a_handler_writes_them(caplog):
    logger = logging.getLogger("dispatch.test")
    from config.logging import RedactSensitiveFilter

    handler_filter = RedactSensitiveFilter()
    caplog.handler.addFilter(handler_filter)
    try:
        logger.warning("could not reach %s", "+13125550142")
    finally:
        caplog.handler.removeFilter(handler_filter)
    assert "+13125550142" not in caplog.text
    assert "***42" in caplog.text


def test_it_leaves_dates_and_times_alone():
    assert mask_phone_numbers("window 2026-11-21 14:00-16:00") == "window 2026-11-21 14:00-16:00"
