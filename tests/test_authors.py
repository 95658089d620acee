"""The article's authors: people, not the publication, named as the page prints them."""

import json

import pytest

from pipelines.authors import clean_authors
from pipelines.extraction import extract_article


def no_page() -> str:
    """The page's printed text, for names that need none."""
    return ""


def test_the_publication_is_dropped_when_a_person_remains():
    assert clean_authors("El Espectador; Felipe Morales Sierra", {("el", "espectador")}, no_page) == "Felipe Morales Sierra"


def test_the_publication_alone_stays_the_author():
    assert clean_authors("El Espectador", {("el", "espectador")}, no_page) == "El Espectador"


def test_a_newsroom_named_after_the_publication_is_dropped():
    assert clean_authors("NOTICIAS TROME; Redacción Trome; Carla Chevez", {("trome",)}, no_page) == "Carla Chevez"


@pytest.mark.parametrize(("author", "publisher"), [
    ("Mark Stern; Jo Lee", ("stern",)),       # stern.de
    ("Carl Bildt; Jo Lee", ("bild",)),        # bild.de
    ("Tim Eastman; Jo Lee", ("time",)),       # time.com
    ("Elena Ruiz; Jo Lee", ("el",)),
    ("John Smith, Reuters; Jo Lee", ("reuters",)),
])
def test_a_person_whose_name_holds_the_publications_is_kept(author, publisher):
    assert clean_authors(author, {publisher}, no_page) == author


@pytest.mark.parametrize(("author", "name"), [
    ("Par Attac France", "Attac France"),
    ("Von Nina Magoley", "Nina Magoley"),
    ("责任编辑：孔德明", "孔德明"),
    ("Autor: Jan Kowalski", "Jan Kowalski"),
    ("'Luana Patriolino", "Luana Patriolino"),
    ("Par Nilsson", "Par Nilsson"),      # a name, not "Par" + one word
    ("Von Hippel", "Von Hippel"),
    ("Von der Leyen", "Von der Leyen"),
])
def test_byline_labels_and_stray_quotes_are_not_part_of_the_name(author, name):
    assert clean_authors(author, set(), no_page) == name


@pytest.mark.parametrize(("author", "page", "name"), [
    ("Perry Bacon Jr", "<span>Perry Bacon Jr.</span> writes", "Perry Bacon Jr."),
    ("R C Baker", "by R.C. BAKER on Monday", "R.C. BAKER"),
    ("Marwan H Adwan", "written by Marwan H. Adwan.", "Marwan H. Adwan"),  # the sentence's full stop is not his
    ("Joe S", "no such name on this page", "Joe S"),
    ("Joe S", "By : Joe S.At Appen, we provide", "Joe S."),  # element texts joined without a space
    ("J K Rowling", "more at jkrowling", "J K Rowling"),   # parts run together: a slug, not the name
])
def test_initials_keep_the_dots_the_page_prints(author, page, name):
    assert clean_authors(author, set(), lambda: page) == name


def test_extracted_author_leaves_out_the_json_ld_publisher():
    body = "".join(f"<p>Paragraph {i} tells a long and detailed story about the royal interview broadcast "
                   "on Sunday night.</p>" for i in range(4))
    json_ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Interview",
               "author": [{"@type": "Person", "name": "Rob Picheta"}, {"@type": "Organization", "name": "CNN"}],
               "publisher": {"@type": "Organization", "name": "CNN"}}
    page = (f"<html lang='en'><head><title>Interview</title><script type='application/ld+json'>{json.dumps(json_ld)}"
            f"</script></head><body><article><h1>Interview</h1>{body}</article></body></html>")
    assert extract_article(page, "https://edition.cnn.com/2021/03/08/uk/interview/index.html").author == "Rob Picheta"
