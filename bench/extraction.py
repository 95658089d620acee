"""Extraction quality and speed on real news pages with ground truth.

    python -m bench.extraction [--devset ../shared/devset] [--limit N] [--split all|tune|holdout|halves]
                               [--variant defaults|best|production ...] [--report bench/reports/extraction.md]

Runs exactly the production extraction (``pipelines.extraction.extract_article``, the
settings the crawler uses) next to trafilatura with its defaults and with its best
published settings (``favor_precision=True, include_comments=False``), over:

- ``fundus/``: full article bodies: word 4-gram shingle precision (averaged over pages
  with output), recall (over all pages) and the F1 of the two averages, as
  article-extraction benchmarks report them;
- ``readability/``: Readability's article text of real pages, scored the same way, on its
  news pages and on all its real ones (its ``kind: synthetic`` unit-test pages are left out);
- ``trafilatura/``: snippets: share of pages whose text holds every ``must_contain``
  and no ``must_not_contain`` snippet;
- metadata on every page labelled for it: title exact, published day, author, language.

``--split halves`` runs the tune half (even pages of each set) and the holdout half (odd
pages) one after the other: a rule is worth keeping when it helps on the holdout halves.

Speed is pages per second on one core (one process, the pages already in memory), in
steady state: each variant runs over the pages once untimed, then once timed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.evaluation import precision_recall
from pipelines.workers import one_thread_per_worker

DEFAULT_DEVSET = Path(__file__).resolve().parent.parent.parent / "shared" / "devset"


@dataclass
class Page:
    id: str
    url: str
    html: str
    truth: dict


@dataclass
class BodyScores:
    """Word 4-gram shingle scores of whole article bodies: precision over pages with output, recall over all."""

    precisions: list[float] = field(default_factory=list)
    recalls: list[float] = field(default_factory=list)

    def add(self, text: str, truth: str) -> None:
        precision, recall = precision_recall(text, truth)
        if text.strip():
            self.precisions.append(precision)
        self.recalls.append(recall)

    @property
    def precision(self) -> float:
        return statistics.mean(self.precisions) if self.precisions else 0.0

    @property
    def recall(self) -> float:
        return statistics.mean(self.recalls) if self.recalls else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


BODY_SETS = ("fundus", "readability news", "readability real")


@dataclass
class Scores:
    bodies: dict[str, BodyScores] = field(default_factory=lambda: {name: BodyScores() for name in BODY_SETS})
    # name -> one pass/fail per page that has a label for it
    checks: dict[str, list[bool]] = field(default_factory=dict)
    seconds: float = 0.0
    pages: int = 0

    def check(self, name: str, passed: bool) -> None:
        self.checks.setdefault(name, []).append(passed)

    def rate(self, name: str) -> str:
        results = self.checks.get(name, [])
        return f"{statistics.mean(results):.3f}" if results else "-"


def load(folder: Path, limit: int | None = None, split: str = "all") -> list[Page]:
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    # Readability's unit-test fixtures are synthetic pages, not news: never scored.
    ids = sorted(i for i in truth if truth[i].get("kind") != "synthetic")
    if split != "all":
        # A fixed half to tune on and the other half to check that tuning generalises.
        ids = [i for n, i in enumerate(ids) if (n % 2 == 0) == (split == "tune")]
    pages = []
    for page_id in ids[:limit]:
        raw = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes())
        # The set is UTF-8, transcoded where needed; a few pages of unknown charset keep their bytes.
        pages.append(Page(page_id, truth[page_id]["url"], raw.decode("utf-8", "replace"), truth[page_id]))
    return pages


def _list(value) -> list[str]:
    if isinstance(value, list):
        return value
    import ast

    return ast.literal_eval(value) if value else []


@dataclass
class Output:
    text: str
    title: str | None = None
    published: str | None = None
    author: str | None = None
    language: str | None = None


def _trafilatura(page: Page, **settings) -> Output:
    import trafilatura

    doc = trafilatura.bare_extraction(page.html, url=page.url, with_metadata=True, **settings)
    if not doc:
        return Output("")
    return Output(doc.text or "", doc.title, doc.date, doc.author, doc.language)


def trafilatura_defaults(page: Page) -> Output:
    return _trafilatura(page)


def trafilatura_best(page: Page) -> Output:
    return _trafilatura(page, favor_precision=True, include_comments=False)


def production(page: Page) -> Output:
    from pipelines.extraction import extract_article

    result = extract_article(page.html, page.url)
    return Output(result.text, result.title, result.published, result.author, result.language)


VARIANTS: dict[str, tuple[str, Callable[[Page], Output]]] = {
    "defaults": ("trafilatura defaults", trafilatura_defaults),
    "best": ("trafilatura best (favor_precision)", trafilatura_best),
    "production": ("news-archiver (production)", production),
}


def _flat(text: str | list[str] | None) -> str:
    if isinstance(text, list):  # several labelled authors: trafilatura's "A; B" form
        text = "; ".join(text)
    return " ".join((text or "").split())


def evaluate(fundus: list[Page], snippets: list[Page], extract: Callable[[Page], Output],
             readability: list[Page] | None = None) -> Scores:
    scores = Scores()
    readability = readability or []
    pages = [*fundus, *snippets, *readability]
    # Steady state, as in a crawl's long-lived workers: an untimed first pass pays the one-time
    # costs (imports, models, caches; dateparser builds its per-locale patterns once, 1.5 s).
    for page in pages:
        extract(page)
    started = time.process_time()
    outputs = [extract(page) for page in pages]
    scores.seconds, scores.pages = time.process_time() - started, len(outputs)
    for page, out in zip(fundus, outputs):
        scores.bodies["fundus"].add(out.text, page.truth["articleBody"])
    for page, out in zip(readability, outputs[len(fundus) + len(snippets):]):
        scores.bodies["readability real"].add(out.text, page.truth["articleBody"])
        if page.truth.get("kind") == "news":
            scores.bodies["readability news"].add(out.text, page.truth["articleBody"])
    for page, out in zip(snippets, outputs[len(fundus):]):
        text = _flat(out.text)
        scores.check("snippets", all(_flat(s) in text for s in _list(page.truth.get("must_contain"))) and not any(
            _flat(s) in text for s in _list(page.truth.get("must_not_contain"))))
    # trafilatura reports a language only when asked to filter by one: no column for it then.
    reports_language = any(out.language for out in outputs)
    for page, out in zip(pages, outputs):
        truth = page.truth
        if truth.get("title"):
            scores.check("title", _flat(out.title) == _flat(truth["title"]))
        if truth.get("date"):  # labelled to the day
            scores.check("date", (out.published or "")[:10] == truth["date"][:10])
        if truth.get("author"):
            scores.check("author", _flat(out.author).casefold() == _flat(truth["author"]).casefold())
        if truth.get("lang") and reports_language:
            scores.check("language", (out.language or "")[:2] == truth["lang"][:2])
    return scores


def report(devset: Path, limit: int | None, split: str, variants: list[str]) -> str:
    lines = []
    for half in (("tune", "holdout") if split == "halves" else (split,)):
        lines += _report_split(devset, limit, half, variants)
    return "\n".join(lines) + "\n"


def _report_split(devset: Path, limit: int | None, split: str, variants: list[str]) -> list[str]:
    fundus = load(devset / "fundus", limit, split)
    snippets = load(devset / "trafilatura", limit, split)
    readability = load(devset / "readability", limit, split) if (devset / "readability").is_dir() else []
    text_rows, meta_rows = [], []
    for key in variants:
        name, extract = VARIANTS[key]
        scores = evaluate(fundus, snippets, extract, readability)
        bodies = " | ".join(f"{b.precision:.3f} | {b.recall:.3f} | **{b.f1:.3f}**" for b in scores.bodies.values())
        text_rows.append(f"| {name} | {bodies} | {scores.rate('snippets')} | {scores.pages / scores.seconds:.1f} |")
        meta_rows.append(f"| {name} | " + " | ".join(scores.rate(c) for c in ("title", "date", "author", "language")) + " |")
        print(f"[{split}] {text_rows[-1]}", file=sys.stderr, flush=True)
    pages = [*fundus, *snippets, *readability]
    labelled = {c: sum(1 for p in pages if p.truth.get(k)) for c, k in
                (("title", "title"), ("date", "date"), ("author", "author"), ("language", "lang"))}
    news = sum(1 for p in readability if p.truth.get("kind") == "news")
    header = " | ".join(f"{name} P | {name} R | {name} F1" for name in BODY_SETS)
    return [
        f"# Extraction benchmark, split {split}: {len(fundus)} fundus pages, {len(readability)} real readability pages "
        f"({news} news), {len(snippets)} trafilatura pages",
        "",
        "## Text",
        "",
        f"| variant | {header} | snippets ok | pages/s per core |",
        "|---|" + "---|" * (3 * len(BODY_SETS) + 2),
        *text_rows,
        "",
        "## Metadata (share of labelled pages right)",
        "",
        (f"| variant | title exact (n={labelled['title']}) | date, same day (n={labelled['date']}) "
         f"| author (n={labelled['author']}) | language (n={labelled['language']}) |"),
        "|---|---|---|---|---|",
        *meta_rows,
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devset", type=Path, default=DEFAULT_DEVSET, help="folder with fundus/, trafilatura/ and readability/")
    parser.add_argument("--limit", type=int, help="only the first N pages of each set")
    parser.add_argument("--split", choices=["all", "tune", "holdout", "halves"], default="all",
                        help="every page, the even (tune) or odd (holdout) half of each set, or both halves in turn")
    parser.add_argument("--variant", action="append", choices=list(VARIANTS), help="run only these (repeatable)")
    parser.add_argument("--report", type=Path, default=Path("bench/reports/extraction.md"))
    args = parser.parse_args(argv)
    one_thread_per_worker()  # one core: numpy's thread pool would count a second one
    if not (args.devset / "fundus" / "ground-truth.json").is_file():
        print(f"bench: no development set at {args.devset} (expected fundus/ and trafilatura/ with ground-truth.json);"
              " pass --devset PATH", file=sys.stderr)
        return 2
    text = report(args.devset, args.limit, args.split, args.variant or list(VARIANTS))
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
