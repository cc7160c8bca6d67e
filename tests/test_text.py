from aisle.catalog.text import clean_text, has_invalid_encoding, has_unsafe_html, show_raw


def test_plain_text_is_untouched() -> None:
    cleaned = clean_text("Turtle Check Men Navy Blue Shirt", 100)
    assert cleaned.text == "Turtle Check Men Navy Blue Shirt"
    assert not cleaned.repairs


def test_formatting_html_is_stripped_and_style_bodies_dropped() -> None:
    raw = "<table><tr><td><style>.s1 { color: red; }</style><b>Soft</b>&nbsp;cotton<br/>tee</td></tr></table>"
    cleaned = clean_text(raw, 100)
    assert cleaned.text == "Soft cotton tee"
    assert {"html_stripped", "html_entities_decoded"} <= cleaned.repairs


def test_entities_whitespace_and_unicode_are_normalised() -> None:
    cleaned = clean_text("  Caf\u0065\u0301 \t mug &amp; saucer\n", 100)
    assert cleaned.text == "Caf\u00e9 mug & saucer"
    assert {"unicode_normalised", "whitespace_normalised", "html_entities_decoded"} <= cleaned.repairs


def test_a_lone_less_than_sign_is_not_markup() -> None:
    assert clean_text("price < 50 for 2 < 3", 100).text == "price < 50 for 2 < 3"


def test_long_text_is_cut_at_a_word_boundary() -> None:
    cleaned = clean_text("word " * 100, 23)
    assert cleaned.text == "word word word word"
    assert "text_truncated" in cleaned.repairs


def test_unsafe_markup_is_recognised() -> None:
    assert has_unsafe_html("nice <script>alert(1)</script>")
    assert has_unsafe_html('<img src=x onerror="steal()">')
    assert has_unsafe_html("<a href='javascript:void(0)'>x</a>")
    assert not has_unsafe_html("<b>bold</b> and <i>italic</i>")


def test_undecodable_bytes_are_detected_and_shown() -> None:
    text = b"caf\xe9 au lait".decode("utf-8", "surrogateescape")
    assert has_invalid_encoding(text)
    assert show_raw(text) == "caf\\xe9 au lait"
    assert not has_invalid_encoding("café au lait")
