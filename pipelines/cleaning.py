"""Residual boilerplate that trafilatura leaves in article text, removed paragraph by paragraph.

Each rule is a small pure function over the list of paragraphs, so that each can be
tested alone and measured on the development set (``make bench-extraction``). Rules
only ever remove whole paragraphs: they never rewrite the text a page printed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable

from crawler.citations import is_credit_line

# Headlines repeated at the top of the body: trafilatura keeps the h1 (or a kicker) when the
# article container holds it.
HEADLINE_WINDOW = 4

# A "furniture" line is short: a real paragraph that mentions a newsletter stays.
FURNITURE_MAX_WORDS = 30

# Link lists ("- Other story", "- Another one") that slip into the body: a run this long of
# short items that are each the text of a link on the page is a teaser block. Lists of the
# article itself (results, ingredients, steps) are not links, and stay.
LINK_LIST_MIN_RUN = 3
LINK_LIST_MAX_WORDS = 15
# A sentence that introduces a list ends with a colon; a label ("Tags:") is shorter.
INTRODUCTION_MIN_WORDS = 4

# Each pattern must match the whole line: a phrase that opens a real sentence ("Partager
# ses connaissances...", "Copyright law reform...") is not furniture.
_POINTER = (  # a label alone on its line, or followed by a link title (no sentence end)
    r"read\s+more|read\s+also|also\s+read|see\s+also|more|related(?:\s+articles?|\s+stories)?|"
    r"more\s+on\s+this(?:\s+story)?|recommended(?:\s+(?:videos?|stories|reading))?|"
    r"xem\s+thêm|tin\s+liên\s+quan|(?:à\s+)?lire\s+aussi|voir\s+aussi|lees\s+ook|lees\s+meer|"
    r"lesen\s+sie\s+(?:auch|mehr)|mehr\s+zum\s+thema|auch\s+interessant|"
    r"leer\s+más|lea\s+también|ver\s+también|vea\s+también|lee\s+también|(?:le|te)\s+puede\s+interesar|"
    r"not(?:as|icias)\s+relacionadas|leia\s+também|veja\s+também|leggi\s+anche|les\s+også|läs\s+också|"
    r"czytaj\s+(?:też|także|więcej)|zobacz\s+(?:też|także)|dowiedz\s+się\s+więcej"
)
_POINTER_START = re.compile(rf"^(?:{_POINTER})\b", re.IGNORECASE)
_FURNITURE = re.compile(
    rf"""^(?:
        (?:{_POINTER})(?:(?:\s*[:»>|]|\s+[–—-])\s*\S.*[^.!])?$ |
        fehler\s+gefunden\s*\?.*$ |
        (?:photo|photograph|foto|ảnh|bild|titelbild|bildquelle|picture|image(?:\s+illustrative)?|фото|
           crédits?\s+photos?|credits?)(?:\s+credits?)?\s*:\s*\S.{{0,60}}$ |
        fot\.\s+\S.{{0,60}}$ |
        (?:quelle|fuente)\s*:\s*[^.]{{1,60}}$ |
        image\s+copyright\b.{{0,60}}$ |
        # reporting credits: who wrote it, not what it says ("With files from Reuters")
        .*\bcontributed\s+to\s+this\s+(?:report|story|article)\.?$ |
        (?:with\s+files\s+from|with\s+reporting\s+by|additional\s+reporting\s+by)\s[^,;]{{1,120}}$ |
        click\s+here\b.*$ |
        # a live-story note, alone or with its promise of updates
        this\s+is\s+a\s+(?:breaking|developing)\s+(?:news\s+|new\s+)?story\b[\s.,;:!–—-]*
           (?:(?:and\s+|it\s+|which\s+)*(?:will\s+be\s+updated|more\s+to\s+follow|check\s+back\b|
              please\s+refresh|updates\s+to\s+follow|more\s+(?:details|information)\s+(?:to\s+come|will\s+follow))
           [^.]*[.!]?)?$ |
        (?:©|\(c\)\s*\d{{4}}|copyright\s*(?::|©|\(c\)|\d{{4}})).*$ |
        .*\ball\s+rights\s+reserved\.?$ |
        (?:share|teilen|partager|chia\s+sẻ)(?:\s+(?:this(?:\s+article|\s+story)?|on\s+\w+))?\s*:?$ |
        (?:copy\s+link|link\s+kopieren|copier\s+le\s+lien)$ |
        # advertising markers and the labels around them
        (?:advertisement|advertising|sponsored|anzeige|werbung|publicité|passer\s+la\s+publicité|publicidad|
           reklama|annonse|annons|article\s+content|
           (?:story|article)\s+continues\s+below(?:\s+(?:this\s+)?advertisement)?|continue\s+reading\s+below)$ |
        # reading-time lines
        (?:lesedauer|reading\s+time|temps\s+de\s+lecture|tiempo\s+de\s+lectura|leestijd)\s*:?\s*(?:ca\.\s*)?\d+\s*\w*\.?$ |
        \d+\s*(?:min|mins|minutes?)\.?\s+read$ |
        # comment widgets: the whole line is the widget's label
        (?:\d+\s+)?(?:comments?|kommentare?|commentaires?|comentarios?)(?:\s*\(\d+\))?$ |
        (?:no|keine|aucun|sin)\s+(?:comments?|kommentare?|commentaires?|comentarios?)(?:\s+yet)?\.?(?:\s*\([^()]*\))?$ |
        (?:leave|add|post|write)\s+a\s+(?:comment|reply)\s*[.:!]?$ |
        .*\byou\b.*\bbefore\s+commenting\b.*$ |
        # credits and pointers wholly in parentheses: "(Quelle: APA/dpa)", "(Le puede interesar: …)".
        # Agency sign-offs ("(TTXVN/Vietnam+)", "VNA/CVN") are the article's own last line: they stay.
        \((?:(?:quelle|source|credits?|crédits?|foto|photo|fuente|{_POINTER})\s*:|
             con\s+información\s+de\s|mit\s+material\s|with\s+files\s+from\s)[^()]{{0,80}}\)\.?$
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# Where a prompt's own words start a sentence: "Got a story? Get in touch ...".
_SENTENCE_START = r"(?:^|[.!?]\s+)"
# A prompt speaks to the reader ("our", "your", "here", "!") about the publication itself:
# subscribing, contacting the newsroom. A sentence that reports on a newsletter or a sign-up
# does not speak to the reader, and stays.
_SUBSCRIPTION = re.compile(
    r"newsletter|nieuwsbrief|bản\s+tin|\bsign(?:ing)?[\s-]+up\b|\bsubscribe\b|\bsuscri(?:be|bir)\w*|"
    r"\babonn(?:ez|ieren\s+sie|iere|eer)\w*|\binscri(?:vez|bete)\w*|\bsubskrypcj\w*",
    re.IGNORECASE,
)
_CONTACT = re.compile(
    _SENTENCE_START + r"(?:get\s+in\s+touch|e-?mail\s+us\s+at|send\s+us\s+(?:your|a)\b|"
    r"(?:do\s+you\s+have|have\s+you\s+got|got)\s+a\s+story|schreiben\s+sie\s+uns|écrivez[- ]nous|escríbenos)",
    re.IGNORECASE,
)
# Appeals for support address the reader by their own words: imperatives opening a sentence.
_SUPPORT = re.compile(
    _SENTENCE_START + r"(?:please\s+)?(?:(?-i:[Ss]upport\s+us)\b|support\s+(?:our|independent)\s+journalism|"
    r"donate\s+(?:now|today)|soutenez[- ]nous|faites\s+un\s+don|apóyanos)|(?-i:unterstützen\s+Sie\s+uns)|"
    r"\bbraucht\s+(?:deine|ihre)\s+unterstützung\b",
    re.IGNORECASE,
)
_TO_THE_READER = re.compile(
    r"!|\b(?:our|your|you|here|unser\w*|hier|jetzt|notre|nos|votre|ici|nuestr[ao]s?|aquí|onze|jouw|"
    r"deine?|của\s+chúng\s+tôi)\b",
    re.IGNORECASE,
)
# Quotation marks open reported speech ("“Get in touch,” police said"): the story, not a prompt.
# ’ is left out: it is also the apostrophe of "you’re".
_QUOTES = re.compile(r"[\"“”„«»‘‹›]")
# Imperatives that open a line: follow us on a platform, sign up, get it in your inbox, get the app.
_IMPERATIVE_PROMPT = re.compile(
    r"^(?:(?:follow(?!-)|síguenos|siguenos|suivez(?:[- ]nous)?|(?-i:Folgen\s+Sie)|folgt\s+uns|folgst\s+du|"
    r"join\s+(?:us|our)|únete|abonniere)\b.*\b(?:twitter|facebook|instagram|telegram|whatsapp|youtube|tiktok|"
    r"linkedin|threads|bluesky|google\s+news)\b|"
    r"(?:sign\s+up|subscribe)\s+(?:for|to|here|now|today)\b|(?:abonnieren\s+sie|abonnez-vous|suscríbete|inscríbete)\b|"
    r"(?:get|receive)\b.*\bin\s+your\s+inbox\b|"
    r"(?:for\s+the\s+latest\b[^.]*?\s)?(?:download|install|get)\s+(?:the|our)\b[^.]{0,60}\bapps?\b[^.]{0,40}"
    r"\b(?:ios|android|app\s+store|google\s+play)\b)",
    re.IGNORECASE,
)
_PAYWALL = re.compile(
    r"\b(?:reserved|réservée?s?|reservados?|vorbehalten)\s+(?:for|to|aux|a|für)\s+"
    r"(?:subscribers|abonnés|suscriptores|abonnenten)\b|\bil\s+vous\s+reste\s+[\d.,]+\s*%|"
    r"\bpour\s+lire\s+la\s+suite\b|\blog\s+in\s+or\s+create\s+an\s+account\b|"
    r"\byou(?:'|’|\s+a)re\s+already\s+a\s+subscriber\b",
    re.IGNORECASE,
)
# Affiliate disclosures run longer than furniture lines, and always say who earns what.
DISCLOSURE_MAX_WORDS = 60
_DISCLOSURE = re.compile(
    r"\bwe\s+may\s+(?:earn|receive|get)\b[^.]{0,40}\b(?:commissions?|compensation)\b|"
    r"\bmay\s+earn\b[^.]{0,30}\bcommissions?\b[^.]{0,80}\b(?:links?|purchases?)\b|"
    r"\bearn\s+us\s+a\s+commission\b|\baffiliate\s+commission\b",
    re.IGNORECASE,
)
# Han and kana are written without spaces: count two characters as a word.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def normalize_space(text: str | None) -> str:
    """NFC, with runs of whitespace made one space."""
    return " ".join(unicodedata.normalize("NFC", text or "").split())


_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")


def squash(text: str) -> str:
    """Letters and digits only, case-folded: for comparing text across markup and spacing."""
    return _NOT_ALPHANUMERIC.sub("", unicodedata.normalize("NFC", text).casefold())


def words(text: str) -> tuple[str, ...]:
    """The text's words, case-folded: for comparing two spellings of a name or a headline."""
    return tuple(re.findall(r"\w+", text.casefold()))


def word_count(text: str | None) -> int:
    text = text or ""
    unspaced = len(_UNSPACED.findall(text))
    return len(_UNSPACED.sub(" ", text).split()) + (unspaced + 1) // 2


def _same_words(a: str, b: str) -> bool:
    return a.casefold().split() == b.casefold().split()


def drop_headlines(paragraphs: list[str], headlines: Iterable[str]) -> list[str]:
    """The title (or another headline of the page) printed again at the top of the body."""
    headlines = [h for h in headlines if h]
    return [
        p for n, p in enumerate(paragraphs)
        if n >= HEADLINE_WINDOW or not any(_same_words(p, h) for h in headlines)
    ]


# Bylines and datelines printed at the top of the body: "Von Nina Magoley", "By Jane Doe",
# "Stand: 22.04.2024, 06:00 Uhr", "Updated 25/11/2025 15:50".
BYLINE_MAX_WORDS = 8
_BYLINE_PREFIX = re.compile(r"^(?:by|von|par|por|door|di|bởi|av|af|fra)\s+", re.IGNORECASE)
_DATELINE = re.compile(
    r"^(?:stand|updated?|published|veröffentlicht|aktualisiert|mis\s+à\s+jour|publié\s+le|cập\s+nhật|"
    r"gepubliceerd|bijgewerkt)?\s*:?\s*[\d\s.,:/+\-–|]*(?:uhr|am|pm|utc|gmt|cet|cest)?[\d\s.,:/+\-–|]*$",
    re.IGNORECASE,
)


def drop_bylines(paragraphs: list[str], authors: Iterable[str]) -> list[str]:
    """A short byline naming the article's author, or a date line, at the top of the body."""
    names = [squash(a) for a in authors if a and squash(a)]

    def is_byline(paragraph: str) -> bool:
        if word_count(paragraph) > BYLINE_MAX_WORDS:
            return False
        if any(ch.isdigit() for ch in paragraph) and _DATELINE.match(paragraph):
            return True
        return bool(names) and squash(_BYLINE_PREFIX.sub("", paragraph)) in names

    return [p for n, p in enumerate(paragraphs) if n >= HEADLINE_WINDOW or not is_byline(p)]


def drop_repeated(paragraphs: list[str]) -> list[str]:
    """A paragraph printed twice (captions repeated by galleries, pull quotes): keep the first."""
    seen: set[str] = set()
    kept = []
    for paragraph in paragraphs:
        key = " ".join(paragraph.casefold().split())
        if key not in seen:
            seen.add(key)
            kept.append(paragraph)
    return kept


def _is_link_item(paragraph: str, link_texts: Collection[str]) -> bool:
    item = paragraph.removeprefix("- ").removeprefix("• ")
    return item != paragraph and word_count(item) <= LINK_LIST_MAX_WORDS and item in link_texts


def _introduces_own_list(paragraph: str) -> bool:
    """A sentence ending in a colon, and not a pointer ("Mehr zum Thema finden Sie hier:")."""
    return (paragraph.endswith(":") and word_count(paragraph) >= INTRODUCTION_MIN_WORDS
            and not _POINTER_START.match(paragraph))


def drop_link_lists(paragraphs: list[str], link_texts: Collection[str]) -> list[str]:
    """Runs of short bullet items that are each a link's text on the page: teaser lists.

    A list the article introduces itself ("The plan draws on three studies:") is its own.
    """
    kept: list[str] = []
    run: list[str] = []
    for paragraph in [*paragraphs, ""]:
        if paragraph and _is_link_item(paragraph, link_texts):
            run.append(paragraph)
            continue
        introduced = bool(kept) and _introduces_own_list(kept[-1])
        if len(run) < LINK_LIST_MIN_RUN or introduced:
            kept.extend(run)
        run = []
        if paragraph:
            kept.append(paragraph)
    return kept


# A picture's caption ends with its credit: "(Photo: VNA)", "(Ảnh: TTXVN)". A caption is a
# sentence or two; trafilatura prints one laid out as a table as a row ("| ... |").
CAPTION_MAX_WORDS = 60
_CAPTION = re.compile(
    r"^\|?.*\((?:photo|ảnh|foto|bild|crédits?\s+photos?|photo\s+credits?|picture|image)\s*:\s*[^()]{1,60}\)\.?\s*\|?$",
    re.IGNORECASE,
)


def is_furniture(paragraph: str) -> bool:
    """"Read more" lines, prompts to the reader, photo credits and captions, copyright and share lines, ad labels."""
    words = word_count(paragraph)
    if words <= CAPTION_MAX_WORDS and _CAPTION.match(paragraph):
        return True
    if words > FURNITURE_MAX_WORDS:
        return words <= DISCLOSURE_MAX_WORDS and bool(_DISCLOSURE.search(paragraph) or paragraph.startswith("©"))
    line = paragraph.lstrip("-•>» ")
    if _FURNITURE.match(line) or _PAYWALL.search(line) or _DISCLOSURE.search(line):
        return True
    if _QUOTES.search(line):
        return False  # reported speech: the prompts below only ever address the reader directly
    if _IMPERATIVE_PROMPT.match(line) or _SUPPORT.search(line):
        return True
    return bool(_TO_THE_READER.search(line)) and bool(_SUBSCRIPTION.search(line) or _CONTACT.search(line))


def drop_furniture(paragraphs: list[str]) -> list[str]:
    """Furniture lines and the credit lines of syndicated copies (those become ``cites``)."""
    return [p for p in paragraphs if not is_furniture(p) and not is_credit_line(p)]


def drop_lines_of(paragraphs: list[str], not_article: Collection[str]) -> list[str]:
    """Lines the page prints in blocks that are not its article (``pipelines.blocks``: squashed texts)."""
    if not not_article:
        return paragraphs
    return [p for p in paragraphs if squash(p) not in not_article]


def clean_paragraphs(
    paragraphs: list[str], headlines: Iterable[str], link_texts: Collection[str] = (), authors: Iterable[str] = (),
    not_article: Collection[str] = (),
) -> list[str]:
    """Every rule, in the order that lets each see what the previous left."""
    paragraphs = drop_lines_of(paragraphs, not_article)
    paragraphs = drop_headlines(paragraphs, list(headlines))
    paragraphs = drop_bylines(paragraphs, authors)
    paragraphs = drop_furniture(paragraphs)
    paragraphs = drop_link_lists(paragraphs, link_texts)
    return drop_repeated(paragraphs)
