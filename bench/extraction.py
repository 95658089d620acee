"""Extraction quality and speed on real news pages with ground truth.

    python -m bench.extraction [--devset ../shared/devset] [--limit N] [--split all|tune|holdout]
                               [--variant defaults|best|production ...] [--report bench/reports/extraction.md]

Runs exactly the production extraction (``pipelines.extraction.extract_article``, the
settings the crawler uses) next to trafilatura with its defaults and with its best
published settings (``favor_precision=True, include_comments=False``), over:

- ``fundus/``: full article bodies: word 4-gram shingle precision (averaged over pages
  with output), recall (over all pages) and the F1 of the two averages, as
  article-extraction benchmarks report them; title exact match;
- ``trafilatura/``: snippets: share of pages whose text holds every ``must_contain``
  and no ``must_not_contain`` snippet.

Speed is pages per second on one core (one process, the pages already in memory).
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

DEFAULT_DEVSET = Path(__file__).resolve().parent.parent.parent / "shared" / "devset"


@dataclass
class Page:
    id: str
    url: str
    html: str
    truth: dict


@dataclass
class Scores:
    precisions: list[float] = field(default_factory=list)
    recalls: list[float] = field(default_factory=list)
    titles: list[bool] = field(default_factory=list)
    snippets: list[bool] = field(default_factory=list)
    seconds: float = 0.0
    pages: int = 0

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


def load(folder: Path, limit: int | None = None, split: str = "all") -> list[Page]:
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    ids = sorted(truth)
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


def trafilatura_defaults(page: Page) -> tuple[str, str | None]:
    import trafilatura

    doc = trafilatura.bare_extraction(page.html, url=page.url, with_metadata=True)
    return (doc.text or "", doc.title) if doc else ("", None)


def trafilatura_best(page: Page) -> tuple[str, str | None]:
    import trafilatura

    doc = trafilatura.bare_extraction(page.html, url=page.url, favor_precision=True, include_comments=False, with_metadata=True)
    return (doc.text or "", doc.title) if doc else ("", None)


def production(page: Page) -> tuple[str, str | None]:
    from pipelines.extraction import extract_article

    result = extract_article(page.html, page.url)
    return result["text"], result["title"]


VARIANTS: dict[str, tuple[str, Callable[[Page], tuple[str, str | None]]]] = {
    "defaults": ("trafilatura defaults", trafilatura_defaults),
    "best": ("trafilatura best (favor_precision)", trafilatura_best),
    "production": ("news-archiver (production)", production),
}


def score_fundus(pages: list[Page], extract: Callable[[Page], tuple[str, str | None]]) -> Scores:
    scores = Scores()
    started = time.process_time()
    outputs = [extract(page) for page in pages]
    scores.seconds, scores.pages = time.process_time() - started, len(pages)
    for page, (text, title) in zip(pages, outputs):
        precision, recall = precision_recall(text, page.truth["articleBody"])
        if text.strip():
            scores.precisions.append(precision)
        scores.recalls.append(recall)
        scores.titles.append(bool(title) and " ".join(title.split()) == " ".join(page.truth["title"].split()))
    return scores


def score_snippets(pages: list[Page], extract: Callable[[Page], tuple[str, str | None]]) -> Scores:
    scores = Scores()
    started = time.process_time()
    outputs = [extract(page) for page in pages]
    scores.seconds, scores.pages = time.process_time() - started, len(pages)
    for page, (text, _) in zip(pages, outputs):
        flat = " ".join(text.split())
        ok = all(" ".join(s.split()) in flat for s in _list(page.truth.get("must_contain"))) and not any(
            " ".join(s.split()) in flat for s in _list(page.truth.get("must_not_contain"))
        )
        scores.snippets.append(ok)
    return scores


def report(devset: Path, limit: int | None, split: str, variants: list[str]) -> str:
    fundus = load(devset / "fundus", limit, split)
    snippets = load(devset / "trafilatura", limit, split)
    lines = [
        f"# Extraction benchmark ({len(fundus)} fundus pages, {len(snippets)} trafilatura pages, split {split})",
        "",
        "| variant | fundus P | fundus R | fundus F1 | title exact | snippets ok | pages/s per core |",
        "|---|---|---|---|---|---|---|",
    ]
    for key in variants:
        name, extract = VARIANTS[key]
        f = score_fundus(fundus, extract)
        s = score_snippets(snippets, extract)
        speed = (f.pages + s.pages) / (f.seconds + s.seconds)
        lines.append(
            f"| {name} | {f.precision:.3f} | {f.recall:.3f} | {f.f1:.3f} | {statistics.mean(f.titles):.3f} "
            f"| {statistics.mean(s.snippets):.3f} | {speed:.1f} |"
        )
        print(lines[-1], file=sys.stderr, flush=True)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devset", type=Path, default=DEFAULT_DEVSET, help="folder with fundus/ and trafilatura/")
    parser.add_argument("--limit", type=int, help="only the first N pages of each set")
    parser.add_argument("--split", choices=["all", "tune", "holdout"], default="all",
                        help="every page, or the even (tune) or odd (holdout) half of each set")
    parser.add_argument("--variant", action="append", choices=list(VARIANTS), help="run only these (repeatable)")
    parser.add_argument("--report", type=Path, default=Path("bench/reports/extraction.md"))
    args = parser.parse_args(argv)
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
