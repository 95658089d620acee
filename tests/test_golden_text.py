"""The seed documents are the golden text: each seed page, crawled and extracted, gives back
the seed's article body (lead and paragraphs) and none of its boilerplate lines."""

import json

import pytest

from archiving.layout import article_id
from crawler.replay import FixtureStore
from pipelines.evaluation import precision_recall
from tests.helpers import FIXTURES, golden_seeds

SEEDS = golden_seeds()
IDS = [seed["seed"][:3] for seed in SEEDS]


def record_of(demo_records: dict, url: str) -> dict:
    found = [r for records in demo_records.values() for r in records if r["url"] == url]
    assert found, f"no article record for {url}"
    return found[0]


def test_every_seed_has_a_fixture_page_at_its_real_url():
    store = FixtureStore(FIXTURES)
    for seed in SEEDS:
        assert store.lookup(seed["url"]) is not None, seed["url"]


@pytest.mark.crawl
@pytest.mark.parametrize("seed", SEEDS, ids=IDS)
def test_text_holds_the_seed_body(demo_records, seed):
    text = record_of(demo_records, seed["url"])["text"]
    precision, recall = precision_recall(text, "\n".join(seed["body"]))
    print(f"seed {seed['seed'][:3]}: recall {recall:.3f} precision {precision:.3f}")
    assert recall >= 0.99
    assert precision >= 0.98


@pytest.mark.crawl
@pytest.mark.parametrize("seed", SEEDS, ids=IDS)
def test_text_has_no_boilerplate_line(demo_records, seed):
    text = record_of(demo_records, seed["url"])["text"]
    paragraphs = text.split("\n\n")
    kept = [
        line for line in seed["boilerplate"]
        if line in paragraphs or (len(line.split()) >= 4 and line in text)
    ]
    assert kept == []


@pytest.mark.crawl
@pytest.mark.parametrize("seed", SEEDS, ids=IDS)
def test_text_starts_with_the_lead_and_not_the_headline(demo_records, seed):
    record = record_of(demo_records, seed["url"])
    first = record["text"].split("\n\n")[0]
    assert first == seed["body"][0]
    assert record["lead"] == seed["body"][0]
    assert not record["text"].startswith(seed["title"])


@pytest.mark.crawl
@pytest.mark.parametrize("seed", SEEDS, ids=IDS)
def test_paragraphs_are_separated_by_blank_lines(demo_records, seed):
    paragraphs = record_of(demo_records, seed["url"])["text"].split("\n\n")
    assert set(seed["body"]) <= set(paragraphs)


@pytest.mark.crawl
@pytest.mark.parametrize("seed", SEEDS, ids=IDS)
def test_metadata_title_date_and_language(demo_records, seed):
    record = record_of(demo_records, seed["url"])
    assert (record["title"], record["published"], record["language"]) == (
        seed["title"], seed["published"], seed["language"],
    )


@pytest.mark.crawl
@pytest.mark.parametrize("seed", [s for s in SEEDS if s["cites"]], ids=[s["seed"][:3] for s in SEEDS if s["cites"]])
def test_cites_name_the_original(demo_records, seed):
    assert record_of(demo_records, seed["url"])["cites"] == seed["cites"]


@pytest.mark.crawl
@pytest.mark.parametrize("seed", SEEDS, ids=IDS)
def test_text_file_is_title_blank_line_text(demo_archive, demo_records, seed):
    record = record_of(demo_records, seed["url"])
    base = demo_archive / "text" / record["site"] / article_id(record["canonical_url"])
    assert base.parent.joinpath(base.name + ".txt").read_text(encoding="utf-8") == f"{record['title']}\n\n{record['text']}\n"
    assert json.loads(base.parent.joinpath(base.name + ".json").read_text(encoding="utf-8"))["content_digest"] == record["content_digest"]
