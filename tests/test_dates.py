"""One date parser for every date a page, a feed, a sitemap or a stored record states."""

from datetime import date, timedelta, timezone

from crawler.dates import parse_datetime, parse_day

HANOI = timezone(timedelta(hours=7))
PRINTED = ["%d/%m/%Y %H:%M"]


def test_offset_without_colon_is_read():
    assert parse_datetime("2025-11-25T13:12:00+0700").isoformat() == "2025-11-25T13:12:00+07:00"


def test_printed_date_is_found_among_words_and_gets_the_given_zone():
    assert parse_datetime("Thứ Ba, 25/11/2025 15:50", HANOI, PRINTED).isoformat() == "2025-11-25T15:50:00+07:00"


def test_a_stated_offset_wins_over_the_given_zone():
    assert parse_datetime("2025-11-25T08:50:00Z", HANOI).isoformat() == "2025-11-25T08:50:00+00:00"


def test_a_date_without_offset_or_zone_stays_naive():
    assert parse_datetime("2025-11-25 15:50").isoformat() == "2025-11-25T15:50:00"


def test_feed_dates_in_rfc_822_are_read():
    assert parse_datetime("Tue, 25 Nov 2025 15:50:00 +0700").isoformat() == "2025-11-25T15:50:00+07:00"


def test_a_sitemap_day_is_midnight_in_the_given_zone():
    assert parse_datetime("2025-11-25", HANOI).isoformat() == "2025-11-25T00:00:00+07:00"


def test_words_that_are_no_date_are_unknown():
    assert parse_datetime("hôm qua", HANOI, PRINTED) is None
    assert parse_datetime("") is None and parse_datetime(None) is None


def test_the_day_is_the_one_the_date_states_not_utcs():
    assert parse_day("2025-11-25T01:00:00+07:00") == date(2025, 11, 25)


def test_feed_dates_without_a_weekday_or_seconds_are_read():
    assert parse_datetime("25 Nov 2025 15:50 GMT").isoformat() == "2025-11-25T15:50:00+00:00"


def test_a_printed_english_date_is_not_misread_as_a_feed_date():
    # The standard library's RFC 822 reader would take both, and drop the PM.
    assert parse_datetime("Tuesday, November 25, 2025 3:50 PM") is None
    assert parse_datetime("25 November 2025 10:00 PM GMT") is None
