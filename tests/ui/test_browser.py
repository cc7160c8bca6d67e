"""The UI in a real browser: Playwright driving Debian's Chromium against a live server (marked `browser`).

Screenshots of each test's final page go to test-artifacts/browser/ (git-ignored; CI keeps them)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import jpeg_bytes

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")]
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
TIMEOUT_MS = 30_000
# a search's first answer may wait on a cold start (models, disk caches) on a loaded 2-core CI machine: one
# such wait of over 30 s was seen in a full run; a hang still fails, only later
SEARCH_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        message = f"needs Debian's Chromium at {CHROMIUM} (`make browser-deps` installs it)"
        if os.environ.get("AISLE_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, server: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    opened.goto(server.url + "/")
    opened.locator("#query textarea, #query input").first.wait_for()
    yield opened
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    opened.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def _search(page: Any, text: str) -> Any:
    """Type a query and wait for result cards. A search that shows nothing for a third of the budget is sent
    once more, and then once more from a reloaded page: in about one module run in ten, a search on a fresh
    page never showed its results, with no server thread busy and no Gradio job running (cause not found;
    see `_dump_state`). A stuck server still fails the test, and leaves its state behind."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(3):
        if attempt == 2:
            _dump_state()
            page.reload()
        box = page.locator("#query textarea, #query input").first
        box.fill(text)
        box.press("Enter")
        cards = page.locator("#results .aisle-card")
        try:
            cards.first.wait_for(timeout=SEARCH_TIMEOUT_MS // 3)
            return cards
        except PlaywrightTimeout:
            if attempt == 2:
                _dump_state()
                raise
    raise AssertionError("unreachable")


def _dump_state() -> None:
    """Where every thread of this process stands (the server runs in one of them) and what Gradio's queue
    holds (events waiting, jobs running): to stderr, which pytest prints with the failure, and appended to
    test-artifacts/browser/stuck-search.txt."""
    import faulthandler
    import gc
    import sys

    from gradio.queueing import Queue

    queues = [o for o in gc.get_objects() if _is_queue(o, Queue)]
    lines = [
        f"gradio queue: {len(q)} events waiting, "
        f"{sum(job is not None for job in q.active_jobs)} of {len(q.active_jobs)} job slots running, "
        f"sessions with pending events: {len(q.pending_event_ids_session)}"
        for q in queues
    ]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with (ARTIFACTS / "stuck-search.txt").open("a") as out:
        # sys.__stderr__ is file descriptor 2, which pytest captures and shows with the failure
        for stream in (out, sys.__stderr__):
            if stream is not None:
                stream.write("\n".join(lines) + "\n")
                stream.flush()  # before faulthandler writes to the file descriptor directly
                faulthandler.dump_traceback(stream, all_threads=True)


def _is_queue(candidate: object, queue_type: type) -> bool:
    """isinstance on a dead weak proxy (the garbage collector still lists them) raises ReferenceError."""
    try:
        return isinstance(candidate, queue_type)
    except ReferenceError:
        return False


def _images_loaded(page: Any, scope: str, timeout_ms: int = 30_000) -> bool:
    """The first photos (those in view: the rest load lazily) arrive and decode in time.

    Cards render before their photos finish downloading, so this waits rather than
    sampling once; it returns False only when the photos never load.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            """(scope) => { const imgs = [...document.querySelectorAll(scope + ' img')].slice(0, 4);
                 return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0); }""",
            arg=scope,
            timeout=timeout_ms,
        )
    except PlaywrightTimeout:
        return False
    return True


def test_query_shows_results_with_photos_chips_and_why(page: Any) -> None:
    from playwright.sync_api import expect

    cards = _search(page, "red shirts for men")
    expect(cards.first.locator(".aisle-title")).to_have_text("Acme Men Red Shirts")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#results img')].slice(0, 4).every(i => i.complete && i.naturalWidth > 0)"
    )
    assert _images_loaded(page, "#results")
    expect(cards.first).to_contain_text("£10.00")
    chips = page.locator("#chips")
    expect(chips).to_contain_text("colour: Red")
    cards.first.locator(".aisle-why summary").click()
    expect(cards.first.locator(".aisle-why")).to_contain_text("keyword match (BM25)")
    # removing a chip drops its words from the query and searches again
    page.get_by_label("colour: Red").uncheck()
    expect(page.locator("#query textarea, #query input").first).to_have_value("shirts for men")
    expect(chips).not_to_contain_text("colour: Red")


def test_filter_narrows_the_results(page: Any) -> None:
    from playwright.sync_api import expect

    _search(page, "shirts")
    page.locator("#filter-gender input").first.click()
    page.get_by_role("option", name="Women", exact=True).click()
    page.keyboard.press("Escape")
    page.wait_for_function(
        """() => { const cards = [...document.querySelectorAll('#results .aisle-card')];
             return cards.length > 0 && cards.every(c => c.innerText.includes('gender: Women')); }"""
    )
    expect(page.locator("#results .aisle-card").first).to_contain_text("gender: Women")


def test_photo_upload_searches_by_look(page: Any, tmp_path: Path) -> None:
    photo = tmp_path / "blue-thing.jpg"
    photo.write_bytes(jpeg_bytes((30, 60, 200)))
    page.locator("#photo input[type=file]").set_input_files(str(photo))
    page.locator("#results .aisle-card").first.wait_for()
    page.wait_for_function("() => document.querySelectorAll('#results .aisle-card').length >= 5")
    assert _images_loaded(page, "#results")


def test_chat_streams_a_grounded_reply_with_product_cards(page: Any) -> None:
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Chat").click()
    # record every state of the assistant's message as it streams in
    page.evaluate(
        """() => { window.aisleSeen = new Set();
             const watch = () => { const bots = document.querySelectorAll('#chatbot .bot, #chatbot [data-testid=bot]');
               if (bots.length) window.aisleSeen.add(bots[bots.length - 1].innerText.trim()); };
             new MutationObserver(watch).observe(document.querySelector('#chatbot'),
               {subtree: true, childList: true, characterData: true}); }"""
    )
    box = page.locator("#chat-input textarea, #chat-input input").first
    box.fill("Do you have red shirts for men?")
    box.press("Enter")
    cards = page.locator("#chat-products .aisle-card")
    cards.first.wait_for(timeout=120_000)
    expect(page.locator("#chat-grounded")).to_have_attribute("data-grounded", "true")
    assert _images_loaded(page, "#chat-products")
    seen = [s for s in page.evaluate("() => [...window.aisleSeen]") if s]
    assert len(seen) >= 2, f"the reply did not stream: {seen}"
    with page.expect_popup() as popup:
        cards.first.locator("a").first.click()
    expect(popup.value.locator("h1")).to_be_visible()


def test_insights_shows_serving_latency(page: Any) -> None:
    from playwright.sync_api import expect

    _search(page, "watches")
    page.get_by_role("tab", name="Insights").click()
    page.locator("#insights-refresh").click()
    expect(page.locator("#latency")).to_contain_text("this server")


def test_opening_results_personalises_the_next_search_and_the_switch_turns_it_off(
    browser: Any, server: Any, ui_service: Any
) -> None:
    """A signed-in shopper (the shop's login cookie) opens two women's watches; the next "watches" search puts
    women's watches first and says why on the card; unticking "Personalise" gives the anonymous order."""
    from playwright.sync_api import expect

    from tests.ui.conftest import token_for

    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    token = token_for(ui_service.settings, "browser-shopper-watches")
    context.add_cookies([{"name": "aisle_token", "value": token, "url": server.url}])
    page = context.new_page()
    try:
        page.goto(server.url + "/")
        cards = _search(page, "watches")
        womens = cards.filter(has_text="gender: Women").filter(has_text="article_type: Watches")
        for n in range(2):
            product_id = womens.nth(n).get_attribute("data-product-id")
            with context.expect_page():  # the card's link opens the product page in a new tab
                womens.nth(n).locator(".aisle-title a").click()
            expect(page.locator("#click-note")).to_contain_text(f"Noted: you opened {product_id};")
        cards = _search(page, "watches")
        expect(cards.first).to_contain_text("gender: Women")
        expect(cards.first.locator(".aisle-reason")).to_have_text("because you looked at 2 women's watches")
        page.locator("#personalise input").uncheck()
        expect(page.locator("#results .aisle-reason")).to_have_count(0)
        with ui_service.events as store:
            assert len(store.history("browser-shopper-watches")) == 2
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "personalised-search.png"), full_page=True)
        context.close()
