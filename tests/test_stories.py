"""One story across sites and languages, and distractors that stay out of it."""

import json
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations
from pathlib import Path

import pytest

from archiving.layout import text_base
from crawler.sites import rules_for_url
from crawler.urls import url_key
from pipelines.stories import Stories, article, evidence_tokens, features, fold, from_features
from tests.helpers import fixture_html, item_feeds, replay_crawl, run_scrapy

VNP, ND, VNVN = "https://www.vietnamplus.vn", "https://nhandan.vn", "https://www.vietnam.vn"
MAIN = [
    f"{VNVN}/en/quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban",
    "https://lecourrier.vn/le-ministre-des-ae-recoit-le-gouverneur-de-la-prefecture-japonaise-de-gunma/1296098.html",
    "https://huengaynay.vn/the-gioi/quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban-160296.html",
    "https://en.sggp.org.vn/pm-receives-japanese-officials-attending-vietnamjapan-local-cooperation-forum-post122020.html",
    f"{VNVN}/nl/mong-muon-cac-dia-phuong-cua-nhat-ban-cung-dong-hanh-voi-viet-nam-trong-giai-doan-phat-trien-moi",
    f"{VNP}/quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban-post1079147.vnp",
    f"{ND}/mong-muon-cac-dia-phuong-cua-nhat-ban-cung-dong-hanh-voi-viet-nam-trong-giai-doan-phat-trien-moi-post925748.html",
]
# Distractors: same sites and week, close topics. Each inner list is one story of its own.
DISTRACTORS = [
    [f"{VNP}/thu-tuong-tiep-dai-su-nhat-ban-ito-naoki-chao-tu-biet-post1078802.vnp",
     f"{VNVN}/en/thu-tuong-tiep-dai-su-nhat-ban-ito-naoki-chao-tu-biet"],
    [f"{VNP}/phien-toan-the-dien-dan-hop-tac-dia-phuong-viet-nam-nhat-ban-ket-noi-de-cung-phat-trien-post1079003.vnp",
     f"{VNVN}/en/phien-toan-the-dien-dan-hop-tac-dia-phuong-viet-nam-nhat-ban-ket-noi-de-cung-phat-trien"],
    [f"{VNP}/bo-truong-ngoai-giao-le-hoai-trung-tiep-thong-doc-tinh-fukuoka-post1079210.vnp",
     "https://huengaynay.vn/the-gioi/bo-truong-ngoai-giao-le-hoai-trung-tiep-thong-doc-tinh-fukuoka-160301.html"],
    [f"{ND}/chu-tich-nuoc-tiep-thong-doc-tinh-gunma-nhat-ban-post780512.html"],
    [f"{ND}/pho-thu-tuong-tiep-chu-tich-lien-minh-nghi-si-huu-nghi-nhat-viet-post925702.html"],
    ["https://lecourrier.vn/le-vice-premier-ministre-recoit-une-delegation-de-la-prefecture-d-osaka/1296064.html"],
    ["https://en.sggp.org.vn/vietnam-japan-seek-to-boost-cooperation-in-semiconductor-training-post122031.html"],
    [f"{VNP}/viet-nam-nhat-ban-thuc-day-hop-tac-nong-nghiep-cong-nghe-cao-post1078650.vnp"],
    ["https://lecourrier.vn/forum-de-cooperation-decentralisee-vietnam-japon-batir-un-avenir-durable/1296087.html"],
]
LABELLED = [MAIN, *DISTRACTORS]
SEEDS = MAIN[:5]  # the five seed pages; MAIN[5:] are the two originals they cite or republish


@pytest.fixture(scope="module")
def archive_stories(demo_archive) -> dict[str, str]:
    """url_key -> story_id, from the archive's article records after every crawl."""
    records = [json.loads(p.read_text(encoding="utf-8")) for p in demo_archive.glob("text/*/*.json")]
    return {url_key(r["canonical_url"]): r["story_id"] for r in records}


@pytest.mark.crawl
def test_the_seven_pages_of_the_seed_story_share_one_story_id(archive_stories):
    assert len({archive_stories[url_key(u)] for u in MAIN}) == 1


@pytest.mark.crawl
def test_no_distractor_joins_the_seed_story(archive_stories):
    story = archive_stories[url_key(MAIN[0])]
    assert [u for group in DISTRACTORS for u in group if archive_stories[url_key(u)] == story] == []


@pytest.mark.crawl
def test_pairwise_same_story_precision_and_recall_are_one(archive_stories):
    urls = [u for group in LABELLED for u in group]
    label = {u: i for i, group in enumerate(LABELLED) for u in group}
    tp = fp = fn = 0
    for a, b in combinations(urls, 2):
        same, predicted = label[a] == label[b], archive_stories[url_key(a)] == archive_stories[url_key(b)]
        tp, fp, fn = tp + (same and predicted), fp + (predicted and not same), fn + (same and not predicted)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"same-story pairs over {len(urls)} labelled articles: precision {precision:.3f} recall {recall:.3f} ({tp} pairs)")
    assert (precision, recall) == (1.0, 1.0)


def seed_story_roles(stories_file) -> dict[str, str]:
    """url -> role of the articles of the seed story in a story file."""
    stories = [json.loads(line) for line in stories_file.read_text(encoding="utf-8").splitlines()]
    main = [s for s in stories if any(a["url"] == MAIN[2] for a in s["articles"])]
    assert len(main) == 1, f"{stories_file.name}: the seed story is in {len(main)} stories"
    return {a["url"]: a["role"] for a in main[0]["articles"]}


@pytest.mark.crawl
def test_crawl_story_file_gives_the_crawls_own_seed_story_articles_their_roles(demo_archive):
    # A crawl's own story file sees the articles archived when it ended: with the demo's spiders
    # running side by side, which pages of the other spiders are in it is a matter of timing. The
    # Hue copy and the VietnamPlus original it cites are archived by this crawl itself.
    feed = item_feeds(demo_archive, "huengaynay")[-1]
    roles = seed_story_roles(feed.with_name(feed.stem + ".stories.jsonl"))
    assert {url: roles.get(url) for url in (MAIN[2], MAIN[5])} == {MAIN[2]: "republication", MAIN[5]: "original"}


@pytest.mark.crawl
def test_story_index_gives_every_page_of_the_seed_story_its_role(demo_archive):
    # The archive's index, written by the last crawl to end, sees every article.
    roles = seed_story_roles(demo_archive / "stories/index.jsonl")
    assert roles == {
        MAIN[0]: "translation",    # www.vietnam.vn/en, crediting VietnamPlus
        MAIN[1]: "retelling",      # lecourrier.vn, French: its own report, crediting no original
        MAIN[2]: "republication",  # huengaynay.vn: the VietnamPlus text, copied
        MAIN[3]: "retelling",      # en.sggp.org.vn: its own report, crediting no original
        MAIN[4]: "translation",    # www.vietnam.vn/nl, crediting Nhân Dân
        MAIN[5]: "original",       # www.vietnamplus.vn, cited
        MAIN[6]: "original",       # nhandan.vn, cited
    }


def crawl_one_at_a_time(archive: Path, urls: list[str]) -> Path:
    """Each URL crawled alone (``-a url=`` by its site's spider, default settings) into one archive."""
    for url in urls:
        result = run_scrapy(["crawl", rules_for_url(url).name, "-a", f"url={url}",
                             "-s", "REPLAY=tests/fixtures", "-s", f"ARCHIVE_URI={archive}"])
        assert result.returncode == 0, f"{url}: {result.stderr[-3000:]}"
    return archive


@pytest.fixture(scope="module")
def seeds_alone(tmp_path_factory) -> dict[str, Path]:
    """Two archives of the five seeds crawled one at a time, with their related pages and cited
    originals and nothing else: in MAIN's order, and reversed (the two run side by side)."""
    orders = {"forward": SEEDS, "reversed": SEEDS[::-1]}
    with ThreadPoolExecutor(len(orders)) as pool:
        archives = {name: pool.submit(crawl_one_at_a_time, tmp_path_factory.mktemp(name) / "archive", urls)
                    for name, urls in orders.items()}
        return {name: future.result() for name, future in archives.items()}


def stories_of(archive: Path) -> dict[str, str]:
    """canonical URL -> story_id, from the archive's article records."""
    records = [json.loads(p.read_text(encoding="utf-8")) for p in archive.glob("text/*/*.json")]
    return {r["canonical_url"]: r["story_id"] for r in records}


def partition(archive: Path) -> set[frozenset[str]]:
    """The archive's stories, each as the set of its articles' canonical URLs."""
    members: dict[str, set[str]] = {}
    for url, story in stories_of(archive).items():
        members.setdefault(story, set()).add(url)
    return {frozenset(urls) for urls in members.values()}


@pytest.mark.crawl
@pytest.mark.parametrize("order", ["forward", "reversed"])
def test_seeds_crawled_one_at_a_time_join_their_originals_and_nothing_else(seeds_alone, order):
    # No linking article from a wider crawl: the French and SGGP reports credit no original and
    # join the story on their own evidence (names and numbers shared across languages).
    stories = {url_key(url): story for url, story in stories_of(seeds_alone[order]).items()}
    assert {url_key(u) for u in MAIN} <= stories.keys()
    seed_story = {stories[url_key(u)] for u in MAIN}
    assert len(seed_story) == 1
    assert {key for key, story in stories.items() if story in seed_story} == {url_key(u) for u in MAIN}


@pytest.mark.crawl
def test_no_distractor_crawled_alongside_the_seeds_joins_their_story(seeds_alone):
    stories = {url_key(url): story for url, story in stories_of(seeds_alone["forward"]).items()}
    present = [u for group in DISTRACTORS for u in group if url_key(u) in stories]
    print(f"distractors in the archive of the seeds: {present}")
    assert [u for u in present if stories[url_key(u)] == stories[url_key(MAIN[0])]] == []


@pytest.mark.crawl
def test_the_same_articles_give_the_same_stories_whatever_the_crawl_order(seeds_alone):
    forward, backward = (partition(seeds_alone[name]) for name in ("forward", "reversed"))
    assert forward == backward
    assert stories_of(seeds_alone["forward"]) == stories_of(seeds_alone["reversed"])  # and the same ids


@pytest.mark.crawl
def test_seeds_crawled_one_at_a_time_get_their_roles(seeds_alone):
    roles = seed_story_roles(seeds_alone["forward"] / "stories/index.jsonl")
    assert roles == {
        MAIN[0]: "translation", MAIN[1]: "retelling", MAIN[2]: "republication", MAIN[3]: "retelling",
        MAIN[4]: "translation", MAIN[5]: "original", MAIN[6]: "original",
    }


def small_archive(texts: dict[str, str], language=None) -> list:
    """Articles of a small archive, one a text, published an hour apart, crediting none."""
    records = [{"url": f"https://site{i}.example/a", "canonical_url": f"https://site{i}.example/a", "site": f"site{i}.example",
                "language": language or name.split("-")[0], "title": "", "published": f"2025-11-25T1{i}:00:00+07:00",
                "text": text, "cites": [], "links": []} for i, (name, text) in enumerate(texts.items())]
    return [article(r) for r in records]


def test_a_storys_own_names_are_rare_evidence_in_a_small_archive():
    # Four reports of one meeting in four languages are the whole archive: their names are in every
    # article, and still evidence (rarity is judged against an archive of RARE_FLOOR articles at least).
    items = small_archive({
        "en": "On Tuesday, Minister Lê Hoài Trung received Governor Yamamoto Ichita of Gunma in Quảng Ninh, where 16,000 Vietnamese live.",
        "fr": "Le ministre Lê Hoài Trung a reçu mardi à Quảng Ninh le gouverneur de Gunma, Yamamoto Ichita, dont la préfecture compte 16.000 Vietnamiens.",
        "vi": "Chiều 25/11, tại Quảng Ninh, Bộ trưởng Lê Hoài Trung tiếp ông Yamamoto Ichita, Thống đốc tỉnh Gunma, nơi có 16.000 người Việt.",
        "nl": "Minister Lê Hoài Trung ontving dinsdag in Quảng Ninh gouverneur Yamamoto Ichita van Gunma, waar 16.000 Vietnamezen wonen.",
        "en-other": "Prime Minister Phạm Minh Chính met Ambassador Ito Naoki in Hà Nội on Tuesday to bid him farewell after 3 years.",
    })
    groups = [sorted(a.record["language"] for a in group) for group in Stories(items).groups()]
    assert sorted(groups) == [["en"], ["en", "fr", "nl", "vi"]]


def test_a_near_copy_is_linked_whatever_else_the_archive_holds():
    # Two copies of one Vietnamese text, alone: no token crosses languages, so there is no evidence,
    # and the copy is still found (by Simhash, not through shared rare tokens).
    text = " ".join(["Bộ trưởng Lê Hoài Trung tiếp Thống đốc tỉnh Gunma Yamamoto Ichita tại Quảng Ninh."] * 3
                    + ["Hai bên nhất trí thúc đẩy hợp tác địa phương, đào tạo nhân lực và nông nghiệp công nghệ cao."] * 3)
    items = small_archive({"a": text, "b": text + " Theo TTXVN."}, language="vi")
    stories = Stories(items)
    assert len(stories.groups()) == 1
    assert set(stories.reasons.values()) == {"near-copy"}


@pytest.mark.crawl
def test_story_index_of_the_archive_lists_every_story_once(demo_archive):
    stories = [json.loads(line) for line in (demo_archive / "stories/index.jsonl").read_text().splitlines()]
    urls = [a["canonical_url"] for s in stories for a in s["articles"]]
    assert len(urls) == len(set(urls)) == len(list(demo_archive.glob("text/*/*.json")))


def test_names_fold_to_one_token_across_languages():
    vi = evidence_tokens("Bộ trưởng Ngoại giao Lê Hoài Trung tiếp ông Yamamoto Ichita, Thống đốc tỉnh Gunma.")
    fr = evidence_tokens("Le ministre Lê Hoài Trung a reçu le gouverneur Yamamoto Ichita, de Gunma.")
    assert {"le", "hoai", "trung", "yamamoto", "ichita", "gunma"} <= vi & fr
    assert fold("Quảng Ninh") == "quang ninh"


def test_numbers_are_evidence_whatever_their_separators():
    assert {"#16000", "#56"} <= evidence_tokens("a Vietnamese community of around 16,000 people and 56 businesses")
    assert "#16000" in evidence_tokens("khoảng 16.000 người")


def test_features_give_back_the_article_they_were_made_from():
    record = {"url": f"{VNP}/a-b-c-post1.vnp", "canonical_url": f"{VNP}/a-b-c-post1.vnp", "site": "www.vietnamplus.vn",
              "language": "vi", "title": "Bộ trưởng Lê Hoài Trung tiếp Thống đốc Gunma", "published": "2025-11-25T14:35:00+07:00",
              "text": "Ngày 25/11, Bộ trưởng Lê Hoài Trung tiếp ông Yamamoto Ichita tại Hà Nội. " * 20,
              "cites": [f"{ND}/x-post2.html"], "links": []}
    made = article(record)
    again = from_features(json.loads(json.dumps(features(made))))  # through its JSON line
    assert (again.key, again.published, again.tokens, again.simhash, again.refers_to) == (
        made.key, made.published, made.tokens, made.simhash, made.refers_to)
    assert again.record == {name: record[name] for name in ("url", "canonical_url", "site", "language", "title", "published")}


@pytest.mark.crawl
def test_the_features_file_describes_every_article_record_as_stored(demo_archive):
    lines = [json.loads(line) for line in (demo_archive / "stories/features.jsonl").read_text().splitlines()]
    records = {p.relative_to(demo_archive).as_posix(): p for p in demo_archive.glob("text/*/*.json")}
    assert sorted(line["path"] for line in lines) == sorted(records)
    for line in lines:
        stored = records[line["path"]]
        assert line["size"] == stored.stat().st_size
        assert line["story_id"] == json.loads(stored.read_text(encoding="utf-8"))["story_id"]


@pytest.mark.crawl
def test_a_crawl_end_reads_only_the_records_no_features_line_describes(tmp_path):
    archive = tmp_path / "archive"
    replay_crawl(tmp_path, "sggp")
    (archive / "stories/features.jsonl").unlink()  # as an archive made before the file has it
    written, stats, _ = replay_crawl(tmp_path, "lecourrier")
    stored = {p.relative_to(archive).as_posix() for p in archive.glob("text/*/*.json")}
    own = {text_base(r["site"], r["canonical_url"]) + ".json" for r in written}
    assert stats["stories/features_read"] == len(stored - own) > 0  # sggp's records, once
    assert len((archive / "stories/features.jsonl").read_text().splitlines()) == len(stored)
    _, stats, _ = replay_crawl(tmp_path, "huengaynay")
    assert "stories/features_read" not in stats


def test_text_features_travel_with_an_article_record_but_never_in_its_fields():
    from itemadapter import ItemAdapter

    from crawler.items import ArticlePage
    from pipelines.extraction import Extraction
    from pipelines.record import build_record
    from pipelines.stories import TextFeatures

    text = "Ông Lê Hoài Trung tiếp ông Yamamoto."
    extracted = Extraction("vietnamplus", title="Tiêu đề", text=text, text_features=TextFeatures.of("Tiêu đề", text))
    record = build_record(ArticlePage(url=f"{VNP}/a-b-c-post1.vnp", html=""), extracted)
    assert record.text_features.tokens == {"le", "hoai", "trung", "yamamoto"}
    assert "text_features" not in ItemAdapter(record).asdict() and "text_features" not in record.as_dict()


def test_similarity_of_two_hashes_is_trafilaturas():
    from trafilatura.deduplication import Simhash

    from pipelines.stories import similarity

    a, b = Simhash("Hà Nội đón đoàn đại biểu tỉnh Gunma " * 10), Simhash("Hà Nội đón đoàn đại biểu tỉnh Gunma, Nhật Bản " * 10)
    assert similarity(a.hash, b.hash) == a.similarity(b)


@pytest.mark.parametrize("text", ["", "。", "Hà Nội đón đoàn đại biểu tỉnh Gunma. " * 30, "東京都は日本の首都です。人口は多い。" * 5,
                                  "The minister received the governor of Gunma in Hanoi on Tuesday."])
def test_simhash_is_trafilaturas_bit_for_bit(text):
    from trafilatura.deduplication import Simhash

    from pipelines.stories import simhash

    assert simhash(text) == Simhash(text).hash


def test_extraction_computes_story_features_only_when_stories_are_on():
    from pipelines.extraction import extract_in_worker
    from pipelines.stories import TextFeatures

    url = f"{VNP}/dien-dan-hop-tac-dia-phuong-viet-nhat-dong-hanh-de-cung-phat-trien-toan-dien-post1077988.vnp"
    html = fixture_html(url)
    on = extract_in_worker(html, url, None, 0)
    assert on.text_features == TextFeatures.of(on.title, on.text)
    assert extract_in_worker(html, url, None, 0, story_features=False).text_features is None
