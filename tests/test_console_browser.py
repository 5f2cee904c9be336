"""The operator console in a real browser against the real service (`roku-feed serve`, two workers).

Headless Chromium (selenium + chromedriver) can reach 127.0.0.1 only: the content's media
hosts resolve to a local HTTPS image server, so thumbnails really load. axe-core (installed by
`make .venv/.installed`) checks every page; screenshots go to the test artifacts directory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import (
    ARTIFACTS,
    AXE,
    SERVE_TOKEN,
    ImageServer,
    Service,
    article,
    chrome,
    driving,
    fresh_get,
    serving,
)
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 20  # seconds; every step normally takes well under one
MARKUP = "<script>document.title='pwned'</script> <img src=x onerror=alert(1)> & <b>bold</b>"
# Articles carry entity-escaped markup: the builder's plain() unescapes it into the title.
ESCAPED = MARKUP.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pytest.fixture(scope="module")
def images() -> Iterator[ImageServer]:
    server = ImageServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """`roku-feed serve` with two workers on six articles, one with markup in its title."""
    root = tmp_path_factory.mktemp("console")
    content = root / "content"
    content.mkdir()
    for n in range(1, 6):
        (content / f"{n}.json").write_text(json.dumps(article(n, featured=n % 2 == 1)), encoding="utf-8")
    (content / "6.json").write_text(json.dumps(article(6, title=ESCAPED, section="Europe")), encoding="utf-8")
    yield from serving(Service(root / "var", content, workers=2))


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory, images: ImageServer) -> Iterator[webdriver.Chrome]:
    yield from driving(chrome(tmp_path_factory.mktemp("chromium-console"), other_hosts=images.port))


def wait(driver: webdriver.Chrome) -> WebDriverWait:
    return WebDriverWait(driver, WAIT)


def wait_for_answer(driver: webdriver.Chrome) -> WebDriverWait:
    """A wait that looks again while a form's answer replaces the page: the element looked up can
    leave the document mid-lookup ("Node with given id does not belong to the document", a bare
    WebDriverException). What never comes still fails, as a timeout."""
    return WebDriverWait(driver, WAIT, ignored_exceptions=(WebDriverException,))


def open_page(driver: webdriver.Chrome, url: str) -> None:
    """Load a page and wait until it and every image on it have loaded."""
    driver.get(url)
    wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")
    wait(driver).until(
        lambda d: d.execute_script("return [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    )


def console_errors(driver: webdriver.Chrome) -> list[dict]:
    """What the browser logged at error level since the last call (a failed load, a CSP violation)."""
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def axe_violations(driver: webdriver.Chrome) -> list[dict]:
    """axe-core's serious and critical violations on the current page."""
    assert AXE.exists(), f"{AXE} missing: run `make .venv/.installed` (it installs axe-core with npm)"
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(r.violations), e => done(String(e)));"
    )
    assert isinstance(result, list), result
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    """Save a full-page PNG into the artifacts directory and check that it shows something."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(height, 600), 4000))
    assert driver.save_screenshot(str(path))
    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 16, f"{path} is blank: {colours}"
    return path


def check_page(driver: webdriver.Chrome) -> None:
    assert console_errors(driver) == []
    assert axe_violations(driver) == []
    with pytest.raises(NoAlertPresentException):
        _ = driver.switch_to.alert.text


def live_etag(service: Service) -> str:
    return fresh_get(service.url("/feed.json"), headers={"Accept-Encoding": "identity"}).headers["ETag"]


def live_feed(service: Service) -> dict:
    return fresh_get(service.url("/feed.json")).json()


def sign_in(driver: webdriver.Chrome, service: Service) -> None:
    open_page(driver, service.url("/sign-in?next=/history"))
    driver.find_element(By.ID, "token").send_keys(SERVE_TOKEN)
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    # the answer is a redirect to /history: a page signed in already shows sign-out, so the
    # wait is for the new page, lest the next page asked for be replaced by it
    wait_for_answer(driver).until(lambda d: d.current_url.split("?")[0].endswith("/history"))
    wait(driver).until(EC.presence_of_element_located((By.ID, "sign-out")))


def hold_a_build(service: Service) -> str:
    """Delete articles through the API until a build drops too much of the live feed: held."""
    for ident in [i["id"] for i in live_feed(service)["shortFormVideos"]]:
        build = service.write("DELETE", f"/api/v1/articles/{ident}").json()["build"]
        if not build["live"]:
            return build["snapshot"]
    raise AssertionError("no build was held")


def test_the_preview_shows_the_live_feeds_rows_and_tiles(driver, service) -> None:
    feed = live_feed(service)
    playlists = {p["name"]: p["itemIds"] for p in feed["playlists"]}
    items = {i["id"]: i for i in feed["shortFormVideos"] + feed["liveFeeds"]}
    open_page(driver, service.url("/preview"))
    rows = driver.find_elements(By.CSS_SELECTOR, "section.row")
    assert [r.find_element(By.CSS_SELECTOR, "ol.tiles").get_attribute("aria-label") for r in rows] == [
        c["name"] for c in feed["categories"]
    ]
    assert [r.find_element(By.TAG_NAME, "h2").text.rsplit(" (", 1)[0] for r in rows][:3] == [
        "Live",
        "Top Stories",
        "Latest",
    ]
    for row, category in zip(rows, feed["categories"], strict=True):
        tiles = row.find_elements(By.CSS_SELECTOR, "li.tile")
        ids = playlists[category["playlistName"]]
        assert [t.get_attribute("data-id") for t in tiles] == ids
        assert [t.find_element(By.CLASS_NAME, "tile-title").text for t in tiles] == [
            items[i]["title"] for i in ids
        ]
        for tile, ident in zip(tiles, ids, strict=True):
            image = tile.find_element(By.TAG_NAME, "img")
            assert image.get_attribute("src") == items[ident]["thumbnail"]
            width, height = (int(image.get_property(p)) for p in ("clientWidth", "clientHeight"))
            assert abs(width * 9 - height * 16) <= 16, (width, height)  # 16:9 tiles
    check_page(driver)
    screenshot(driver, "preview")


def test_markup_in_titles_is_shown_as_text(driver, service) -> None:
    open_page(driver, service.url("/preview"))
    titles = [t.text for t in driver.find_elements(By.CLASS_NAME, "tile-title")]
    assert MARKUP in titles
    assert driver.find_elements(By.CSS_SELECTOR, "main script, main b, img[onerror]") == []
    assert driver.title == "Channel preview · roku-feed operator"
    [tile] = [t for t in driver.find_elements(By.CSS_SELECTOR, "li.tile a") if MARKUP in t.text][:1]
    tile.click()
    wait(driver).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "h1.item-title")))
    assert driver.find_element(By.CSS_SELECTOR, "h1.item-title").text == MARKUP
    assert driver.title.startswith("<script>")  # the title element holds text, not markup
    check_page(driver)


def test_roll_back_and_approve_through_the_forms_change_the_live_etag(driver, service) -> None:
    first = live_etag(service)
    held = hold_a_build(service)
    before = live_etag(service)
    sign_in(driver, service)
    open_page(driver, service.url("/history"))
    check_page(driver)
    screenshot(driver, "history")
    driver.find_element(By.CSS_SELECTOR, f"tr[data-id='{held}'] button.approve").click()
    wait_for_answer(driver).until(EC.text_to_be_present_in_element((By.ID, "published-notice"), held))
    approved = live_etag(service)
    assert approved != before
    assert (
        approved
        == requests.get(service.url(f"/api/v1/snapshots/{held}"), timeout=10).json()["etag"]["feed.json"]
    )
    snapshots = requests.get(service.url("/api/v1/snapshots"), timeout=10).json()["snapshots"]
    [original] = [s["id"] for s in snapshots if s["etag"]["feed.json"] == first]
    driver.find_element(By.CSS_SELECTOR, f"tr[data-id='{original}'] button.rollback").click()
    # the page still shows the approval's notice until the roll back's answer replaces it
    wait_for_answer(driver).until(EC.text_to_be_present_in_element((By.ID, "published-notice"), original))
    assert live_etag(service) == first
    check_page(driver)


def test_a_write_without_the_session_or_with_a_wrong_csrf_token_changes_nothing(service) -> None:
    snapshots = requests.get(service.url("/api/v1/snapshots"), timeout=10).json()["snapshots"]
    other = next(s["id"] for s in snapshots if not s["live"])
    before = live_etag(service)
    anonymous = requests.post(service.url(f"/history/{other}/publish"), data={"csrf_token": "x"}, timeout=10)
    assert anonymous.status_code == 403 and "Sign-in required" in anonymous.text
    with requests.Session() as browser:
        signed = browser.post(service.url("/sign-in"), data={"token": SERVE_TOKEN}, allow_redirects=False)
        assert signed.status_code == 303
        wrong = browser.post(service.url(f"/history/{other}/publish"), data={"csrf_token": "not-it"})
        assert wrong.status_code == 403 and "CSRF token missing or wrong" in wrong.text
        missing = browser.post(service.url(f"/history/{other}/publish"), data={})
        assert missing.status_code == 403
    assert live_etag(service) == before


def test_a_session_holds_on_every_worker(service) -> None:
    with requests.Session() as browser:
        browser.post(service.url("/sign-in"), data={"token": SERVE_TOKEN}, allow_redirects=False)
        cookie = browser.cookies["roku_feed_session"]
    for _ in range(20):  # new connections, so the kernel hands them to either worker
        page = fresh_get(service.url("/history"), cookies={"roku_feed_session": cookie})
        assert 'id="sign-out"' in page.text


def test_the_validate_page_groups_findings_and_shows_the_line(driver, service) -> None:
    feed = live_feed(service)
    item = feed["shortFormVideos"][0]
    item["genres"] = "news"  # wrong-type
    item["title"] = MARKUP
    open_page(driver, service.url("/"))
    textarea = wait(driver).until(EC.element_to_be_clickable((By.ID, "feed-text")))
    driver.execute_script("arguments[0].value = arguments[1]", textarea, json.dumps(feed, indent=2))
    textarea.find_element(By.XPATH, "./ancestor::form//button[@type='submit']").click()
    results = wait(driver).until(EC.visibility_of_element_located((By.ID, "results")))
    wait(driver).until(
        lambda d: d.execute_script("return [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    )
    group = next(g for g in results.find_elements(By.CSS_SELECTOR, "section.group") if MARKUP in g.text)
    assert group.find_element(By.CLASS_NAME, "item-title").text == MARKUP
    assert group.find_element(By.CSS_SELECTOR, "img.thumb").get_attribute("src") == item["thumbnail"]
    assert '"genres": "news"' in group.find_element(By.CSS_SELECTOR, "pre.context mark").text
    link = group.find_element(By.LINK_TEXT, "wrong-type")
    check_page(driver)
    screenshot(driver, "validate")
    link.click()
    wait(driver).until(EC.url_contains("/rules#wrong-type"))
    assert driver.find_element(By.ID, "wrong-type").is_displayed()
    check_page(driver)


@pytest.mark.parametrize("path", ["/", "/history", "/activity", "/rules", "/sign-in"])
def test_every_other_page_passes_axe(driver, service, path) -> None:
    open_page(driver, service.url(path))
    check_page(driver)


def test_the_item_page_passes_axe_and_works_by_keyboard(driver, service) -> None:
    from selenium.webdriver.common.keys import Keys

    open_page(driver, service.url("/preview"))
    first = driver.find_element(By.CSS_SELECTOR, "li.tile a")
    first.send_keys(Keys.ENTER)
    wait(driver).until(EC.visibility_of_element_located((By.ID, "item-id")))
    check_page(driver)


def test_check_now_marks_tiles_and_the_item_page(driver, service) -> None:
    """The publisher probes with the service's own resolver: the test's media hosts (which only the
    browser reaches) are unreachable to it, so every tile gets marked."""
    sign_in(driver, service)
    open_page(driver, service.url("/preview"))
    driver.find_element(By.ID, "check-now").click()
    wait(driver).until(EC.text_to_be_present_in_element((By.ID, "media"), "just now"))
    wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")
    marked = driver.find_elements(By.CSS_SELECTOR, "li.tile.broken")
    assert marked and all(t.find_elements(By.CLASS_NAME, "mark") for t in marked)
    assert "broken thumbnail" in marked[0].text
    check_page(driver)
    marked[0].find_element(By.TAG_NAME, "a").click()
    wait(driver).until(EC.visibility_of_element_located((By.ID, "media-results")))
    assert driver.find_element(By.ID, "media-marks").find_elements(By.CLASS_NAME, "mark")
    check_page(driver)


def test_the_activity_chart_is_drawn_without_script(driver, service) -> None:
    for _ in range(3):
        fresh_get(service.url("/feed.json"), headers={"User-Agent": "Roku/DVP-12.0 (12.0.0.4182-88)"})
    open_page(driver, service.url("/activity"))
    chart = driver.find_element(By.CSS_SELECTOR, "svg.chart")
    assert chart.find_elements(By.CSS_SELECTOR, "rect.c200") and chart.size["width"] > 300
    assert driver.find_elements(By.TAG_NAME, "script") == []  # axe is injected after this check
    assert "UTC" in driver.find_element(By.ID, "last-roku").text
    check_page(driver)
    screenshot(driver, "activity")


@pytest.mark.parametrize("path", ["/preview", "/history", "/activity", "/rules"])
def test_pages_fit_a_phone_screen(driver, service, path) -> None:
    """At 390 CSS pixels nothing makes the page itself scroll sideways (rows and tables scroll inside)."""
    driver.set_window_size(390, 844)
    try:
        open_page(driver, service.url(path))
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, overflow
    finally:
        driver.set_window_size(1280, 1500)
