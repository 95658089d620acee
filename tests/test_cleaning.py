"""Residual boilerplate removed from extracted text, one rule per test."""

import pytest

from pipelines.cleaning import (
    clean_paragraphs, drop_headlines, drop_link_lists, drop_repeated, is_furniture,
)

BODY = "The provincial governor met the minister on Tuesday to discuss investment in high-tech agriculture."


def test_title_repeated_at_the_top_of_the_body_is_dropped():
    assert drop_headlines(["Gunma Governor visits Hanoi", BODY], ["Gunma governor  visits Hanoi"]) == [BODY]


def test_title_quoted_deep_in_the_body_is_kept():
    paragraphs = [BODY, BODY + " 2", BODY + " 3", BODY + " 4", "Gunma Governor visits Hanoi"]
    assert drop_headlines(paragraphs, ["Gunma Governor visits Hanoi"]) == paragraphs


def test_repeated_paragraph_is_kept_once():
    assert drop_repeated([BODY, "A caption under the photo.", BODY]) == [BODY, "A caption under the photo."]


def test_run_of_short_unpunctuated_bullets_is_a_teaser_list():
    teasers = ["- Japan approves stimulus package", "- Korea hires shipyard workers", "- COP30 closes in Belem"]
    assert drop_link_lists([BODY, *teasers, BODY]) == [BODY, BODY]


def test_two_bullets_or_bullets_with_sentences_stay():
    two = ["- Japan approves stimulus package", "- Korea hires shipyard workers"]
    sentences = ["- The first measure cuts power bills.", "- The second helps families.", "- The third funds towns."]
    assert drop_link_lists([BODY, *two]) == [BODY, *two]
    assert drop_link_lists(sentences) == sentences


@pytest.mark.parametrize("line", [
    "Read more: Japan approves a record stimulus package",
    "Xem thêm: Nhật Bản thông qua gói kích thích kinh tế",
    "Lire aussi : le Japon adopte un plan de relance",
    "Lees ook: Japan keurt stimuleringspakket goed",
    "Lesen Sie auch: Japan beschließt Konjunkturpaket",
    "Mehr zum Thema",
    "Sign up for our morning newsletter",
    "Photo: Duong Giang/VNA",
    "Foto: dpa",
    "© 2025 Example News. All rights reserved.",
    "Fehler gefunden? Jetzt melden.",
])
def test_furniture_lines_are_recognised(line):
    assert is_furniture(line)


@pytest.mark.parametrize("line", [
    BODY,
    "The photo exhibition opens on Friday.",
    "Readers who subscribe to the ministry's bulletin will receive the full report, officials said, "
    "adding that the forum would publish its conclusions later this month in three languages for "
    "local governments, businesses and universities in both countries.",
])
def test_body_sentences_are_not_furniture(line):
    assert not is_furniture(line)


def test_credit_line_of_a_syndicated_copy_is_dropped():
    assert clean_paragraphs([BODY, "Theo vietnamplus.vn"], headlines=[]) == [BODY]


def test_all_rules_together_keep_the_body_in_order():
    paragraphs = ["Gunma Governor visits Hanoi", BODY, "Xem thêm: Tin khác", BODY + " Again.", BODY,
                  "- Teaser one", "- Teaser two", "- Teaser three"]
    assert clean_paragraphs(paragraphs, headlines=["Gunma Governor visits Hanoi"]) == [BODY, BODY + " Again."]
