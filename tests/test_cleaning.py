"""Residual boilerplate removed from extracted text, one rule per test."""

import pytest

from pipelines.cleaning import (
    FURNITURE_MAX_WORDS,
    clean_paragraphs,
    drop_bylines,
    drop_headlines,
    drop_link_lists,
    drop_repeated,
    is_furniture,
    word_count,
)

BODY = "The provincial governor met the minister on Tuesday to discuss investment in high-tech agriculture."


def test_title_repeated_at_the_top_of_the_body_is_dropped():
    assert drop_headlines(["Gunma Governor visits Hanoi", BODY], ["Gunma governor  visits Hanoi"]) == [BODY]


def test_title_quoted_deep_in_the_body_is_kept():
    paragraphs = [BODY, BODY + " 2", BODY + " 3", BODY + " 4", "Gunma Governor visits Hanoi"]
    assert drop_headlines(paragraphs, ["Gunma Governor visits Hanoi"]) == paragraphs


def test_repeated_paragraph_is_kept_once():
    assert drop_repeated([BODY, "A caption under the photo.", BODY]) == [BODY, "A caption under the photo."]


TEASERS = ["Japan approves stimulus package", "Korea hires shipyard workers", "COP30 closes in Belem"]


def test_run_of_bullets_that_are_links_on_the_page_is_a_teaser_list():
    bullets = [f"- {t}" for t in TEASERS]
    assert drop_link_lists([BODY, *bullets, BODY], link_texts=set(TEASERS)) == [BODY, BODY]


def test_two_linked_bullets_stay():
    bullets = [f"- {t}" for t in TEASERS[:2]]
    assert drop_link_lists([BODY, *bullets], link_texts=set(TEASERS)) == [BODY, *bullets]


def test_a_list_of_the_article_itself_stays():
    results = ["- CDU/CSU 28,5 %", "- AfD 20,8 %", "- SPD 16,4 %", "- Grüne 11,6 %"]
    assert drop_link_lists([BODY, *results], link_texts=set(TEASERS)) == [BODY, *results]


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
    "Never miss the latest news by signing up to our newsletter today!",
    "Get The Times of Israel's Daily Edition by email and never miss our top stories Free Sign Up",
    "Copyright: Gisele Wender",
    "À lire aussi » Ballonnements, lourdeurs... Quel est votre profil digestif ?",
    "Tin liên quan",
    "Share this article",
])
def test_furniture_lines_are_recognised(line):
    assert is_furniture(line)


@pytest.mark.parametrize("line", [
    "Czytaj też: Wyścig zbrojeń ruszył z kopyta",
    "Le puede interesar: JEP abrirá tres nuevos macrocasos",
    "(Le puede interesar: Buscan responsables de bus quemado en Anorí, Antioquia)",
    "Les også: Tone Damli røper detaljer om frieriet",
    "ALSO READ: Solar firm to boost clean energy uptake",
    "MORE : WIN Two tickets to see Girls Aloud at Brighton Pride",
    "Recommended Videos",
])
def test_pointer_lines_in_more_languages_are_furniture(line):
    assert is_furniture(line)


@pytest.mark.parametrize("line", ["Advertisement", "Article content", "Passer la publicité", "REKLAMA",
                                  "Story continues below advertisement"])
def test_advertising_labels_are_furniture(line):
    assert is_furniture(line)


@pytest.mark.parametrize("line", ["Lesedauer: 4 Minuten", "Reading time: 3 min", "5 min read"])
def test_reading_time_lines_are_furniture(line):
    assert is_furniture(line)


@pytest.mark.parametrize("line", [
    "0 Kommentare",
    "Keine Kommentare (Kommentare erscheinen erst nach unserer Freigabe)",
    "Leave a comment",
    "You must confirm your public display name before commenting",
])
def test_comment_widget_lines_are_furniture(line):
    assert is_furniture(line)


@pytest.mark.parametrize("line", [
    "(Quelle: APA/sda/dpa)", "(Credit: Clayton Aldern / Grist)",
    "(Con información de AFP, EFE y Reuters)", "Fot. Lukasz Nowaczyk / Agencja Gazeta",
    "Crédits photos : Bestimage", "Titelbild: Geyres Christophe/ABACA/picture-alliance",
    "Фото: Дмитрий Азаров, Коммерсантъ",
])
def test_credit_labels_and_photo_credits_are_furniture(line):
    assert is_furniture(line)


@pytest.mark.parametrize("line", ["VNA/CVN", "(TTXVN/Vietnam+)", "(dmk)", "aja/PAP"])
def test_agency_sign_offs_stay_as_the_seeds_keep_them(line):
    assert not is_furniture(line)


@pytest.mark.parametrize("line", [
    "Get the latest news from thewest.com.au in your inbox.",
    "Sign up for breaking news, reviews, opinion, top tech deals, and more.",
    "Got a story? Get in touch with our news team by emailing us at webnews@metro.co.uk.",
    "Are protests breaking out in your area? Get in touch at webnews@reachplc.com",
    "Do you have a story to tell? Email: emma.mackenzie@reachplc.com",
    "Follow TechRadar on Google News and add us as a preferred source to get our expert news in your feeds.",
    "Folgst du schon 20 Minuten auf Whatsapp?",
    "For the latest stories and breaking news updates download the Nationnews apps for iOS and Android.",
    "Unabhängiger Journalismus braucht deine Unterstützung.",
    "Hat Ihnen dieser Artikel gefallen? Dann unterstützen Sie uns bitte mit einer Spende.",
    "Il vous reste 57.09% de cet article à lire. La suite est réservée aux abonnés.",
    "Log in or create an account to continue",
])
def test_prompts_to_the_reader_are_furniture(line):
    assert is_furniture(line)


@pytest.mark.parametrize("line", [
    "Postmedia may earn an affiliate commission from purchases made through links on this page.",
    "We independently select everything we recommend. Buying through us may earn us a commission.",
    # longer than a furniture line, still a disclosure
    ("This post contains references to products from one or more of our advertisers. We may receive compensation "
     "when you click on links to those products. Terms apply to the offers listed on this page. For an explanation "
     "of our Advertising Policy, visit this page."),
])
def test_affiliate_disclosures_are_furniture(line):
    assert is_furniture(line)


@pytest.mark.parametrize("line", [
    "—Associated Press writer John Leicester in Paris contributed to this report.",
    "With files from The Associated Press",
    "Quelle: AFP",
    "Image copyright Getty Images",
    "Click here to read the unsealed search warrant.",
    "This is a breaking news story - more to follow",
    "This is a developing story and will be updated.",
])
def test_reporting_credits_and_navigation_lines_are_furniture(line):
    assert is_furniture(line)


def test_long_copyright_notice_is_furniture():
    assert is_furniture("© 2022, BreakingBelizeNews.com. This article is the copyrighted property of Breaking Belize "
                        "News. Written permission must be obtained before reprint in online or print media. "
                        "REPRINTING CONTENT WITHOUT PERMISSION AND/OR PAYMENT IS THEFT AND PUNISHABLE BY LAW.")


@pytest.mark.parametrize("line", [
    BODY,
    "The photo exhibition opens on Friday.",
    "Partager ses connaissances est au cœur du projet.",
    "Copyright law reform passed the Senate on Tuesday.",
    "(c) the right to appeal a decision within 30 days;",
    "Auch interessant ist, dass die Zahl der Besucher stieg.",
    "Lees meer dan 200 brieven van de burgemeester.",
    "Leer más libros es el objetivo del programa.",
    "Share on the market rose 2%.",
    "Related: the two cases are linked, police said.",
    "Teilen: Die Koalition ist gespalten.",
    "Người dân có thể đăng ký nhận hỗ trợ ngay tại UBND xã.",
    "Bản tin thời sự tối nay phát lại cuộc gặp của Thủ tướng.",
    "Millions of people sign up for the lottery every week.",
    "Wer den Dienst abonnieren will, zahlt künftig mehr.",
    "The newsletter, published by the central bank, warned of risks.",
    "More than 200 people attended the forum.",
    "Advertisement revenue fell 5% in the quarter.",
    "Comments from the minister drew criticism.",
    "Users can follow the account on Twitter, the company said.",
    "Follow-up talks are planned for next week.",
    "The charity asked residents to make a donation to the fund.",
    "“Get in touch with your local council if you see anything,” the minister said.",
    "Subscribers fell by 2 million, the company said.",
    "Amazon will earn a commission on every sale made through the new platform, analysts said.",
    "(If you have links to other good guides to packaging, they'd be appreciated!)",
    "The ministry's reading time campaign starts in May.",
    "NATO/EU talks resumed on Monday.",
    "Quelle der Daten ist das Statistische Bundesamt.",
    "This is a breaking story of national importance, the editor said, and the paper published it on Sunday morning.",
    "This is a developing story for the region, analysts say.",
    "This is a breaking story of national importance.",
    "Sign up is open until May 5 on the city's website.",
    "Users can download the app on iOS and Android from Monday.",
    'No comment was made by the ministry on Tuesday.',
    "Aucun commentaire n'a été fait par l'Élysée sur cette affaire.",
    'Sin comentarios por parte del ministerio, que guardó silencio.',
    'Keine Kommentare gab es dazu vom Ministerium in Berlin.',
    'The minister paused before commenting on the verdict.',
    'Allies that support US sanctions on Iran met in Brussels on Monday.',
    'The EU pledged to support independent journalism in Ukraine.',
    'Victims may receive compensation from the airline and its partners, the court ruled.',
    'Scammers are sending fake invoices that land in your inbox, police warned.',
    'Det Insp Smith said anyone with information should get in touch with our officers.',
    'Survivors who have a story to tell can testify today, the inquiry said.',
    'Firma sprzedała subskrypcje i przekazała je klientom.',
    'Sigue abierta la investigación de Bruselas contra Facebook e Instagram.',
    'Follow-up investigations by Facebook found no further accounts.',
    'Folgen sie der Empfehlung, müssten Facebook und Instagram Konten sperren.',
    'Download numbers for the app on Android doubled in March.',
    'He was already a subscriber to the service when the breach happened.',
    'Image caption was wrong in the first edition, the paper said.',
    'This story was first published in 1998 and won a Pulitzer Prize.',
    'With reporting by the BBC, the scandal spread quickly across Europe.',
    'More-than-expected growth in March',
    '(More than 200 people were injured in the blast, officials said later)',
    '‘Get in touch with our team if you see anything,’ police said.',
    "Click the button to start the engine, he said.",
    "The image caption was wrong, the paper admitted.",
    ("Readers who subscribe to the ministry's bulletin will receive the full report, officials said, "
     "adding that the forum would publish its conclusions later this month in three languages for "
     "local governments, businesses and universities in both countries."),
])
def test_body_sentences_are_not_furniture(line):
    assert not is_furniture(line)


def test_credit_line_of_a_syndicated_copy_is_dropped():
    assert clean_paragraphs([BODY, "Theo vietnamplus.vn"], headlines=[]) == [BODY]


def test_all_rules_together_keep_the_body_in_order():
    paragraphs = ["Gunma Governor visits Hanoi", BODY, "Xem thêm: Tin khác", BODY + " Again.", BODY,
                  *(f"- {t}" for t in TEASERS)]
    cleaned = clean_paragraphs(paragraphs, headlines=["Gunma Governor visits Hanoi"], link_texts=set(TEASERS))
    assert cleaned == [BODY, BODY + " Again."]


def test_short_cjk_paragraphs_are_counted_by_characters():
    long_japanese = "政府は二十一日、物価高対策を柱とする総合経済対策を閣議決定した。" * 3
    assert word_count(long_japanese) > FURNITURE_MAX_WORDS
    assert word_count("Gunma governor visits Hanoi") == 4


@pytest.mark.parametrize("byline", ["Von Nina Magoley", "By Nina Magoley", "Nina Magoley"])
def test_byline_naming_the_author_at_the_top_is_dropped(byline):
    assert drop_bylines([byline, BODY], authors=["Nina Magoley"]) == [BODY]


@pytest.mark.parametrize("dateline", ["Stand: 22.04.2024, 06:00 Uhr", "Updated 25/11/2025 15:50", "25.11.2025 | 17:45"])
def test_date_line_at_the_top_is_dropped(dateline):
    assert drop_bylines([dateline, BODY], authors=[]) == [BODY]


def test_sentence_about_the_author_or_a_date_stays():
    paragraphs = ["Nina Magoley spoke to firefighters in Essen.", "Stand der Dinge: 16.000 Betroffene", BODY]
    assert drop_bylines(paragraphs, authors=["Nina Magoley"]) == paragraphs


@pytest.mark.parametrize("line", [
    "Chủ tịch nước Võ Văn Thưởng tiếp Thống đốc tỉnh Gunma Yamamoto Ichita. (Ảnh: TTXVN)",
    "| Students practise at a microelectronics laboratory in Ho Chi Minh City (Photo: SGGP) |",
    "Le vice-Premier ministre reçoit la délégation d'Osaka (Crédit photo : VNA/CVN)",
])
def test_picture_captions_ending_with_their_credit_are_furniture(line):
    assert is_furniture(line)


def test_a_sentence_that_mentions_a_photo_is_not_a_caption():
    assert not is_furniture("The minister (photo: left) said the talks, which ran late into the night, had been worth it.")


def test_a_link_list_the_article_introduces_stays():
    bullets = [f"- {t}" for t in TEASERS]
    intro = "The ministry published three documents on the agreement:"
    assert drop_link_lists([BODY, intro, *bullets], link_texts=set(TEASERS)) == [BODY, intro, *bullets]


def test_a_pointer_ending_with_a_colon_does_not_make_a_teaser_list_the_articles():
    bullets = [f"- {t}" for t in TEASERS]
    pointer = "Mehr zum Thema finden Sie auch im wöchentlichen Zins-Check:"
    assert drop_link_lists([BODY, pointer, *bullets], link_texts=set(TEASERS)) == [BODY, pointer]
