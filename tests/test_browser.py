"""The operator page in a real browser: headless Chromium (selenium + chromedriver) against a real server.

Needs /usr/bin/chromium and /usr/bin/chromedriver (`make test` installs them through
scripts/system-deps.sh) and selenium (the `test` extra). Missing, they fail the run: a
browser test that skips would hide the gap.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CORPUS, chrome, driving, make_app, write_content
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

WAIT = 10  # seconds; every step normally takes well under one
XSS_TITLE = "<img src=x onerror=alert(1)> <script>document.title='pwned'</script>"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app, with five published articles, served by werkzeug on a free port of 127.0.0.1."""
    tmp = tmp_path_factory.mktemp("browser")
    app = make_app(tmp, write_content(tmp / "content"))
    record = app.extensions["publisher"].refresh()
    assert record.ok and record.live, record.message
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    yield from driving(chrome(tmp_path_factory.mktemp("chromium-profile")))


def wait(driver: webdriver.Chrome) -> WebDriverWait:
    return WebDriverWait(driver, WAIT)


def assert_no_alert(driver: webdriver.Chrome) -> None:
    with pytest.raises(NoAlertPresentException):
        _ = driver.switch_to.alert.text


def test_status_page_shows_the_live_feed(driver, base_url, tmp_path: Path) -> None:
    driver.get(base_url + "/")
    heading = wait(driver).until(EC.visibility_of_element_located((By.TAG_NAME, "h1")))
    assert heading.text == "Feed status"
    assert driver.title == "Feed status · roku-feed operator"
    assert driver.find_element(By.ID, "live-items").text == "5 item(s)"
    assert driver.find_element(By.ID, "build-result").text == "ok"
    assert driver.find_element(By.ID, "live-snapshot").is_displayed()
    links = {a.text for a in driver.find_elements(By.CSS_SELECTOR, "nav[aria-label='Feeds and endpoints'] a")}
    assert links == {"/feed.json", "/search-feed.json", "/api/v1/status", "/metrics"}
    assert driver.find_element(By.CSS_SELECTOR, "label[for=feed-text]").text == "Paste feed JSON"
    shot = tmp_path / "status.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 0


def test_pasted_markup_is_shown_as_text_and_never_runs(driver, base_url, tmp_path: Path) -> None:
    feed = json.loads((CORPUS / "valid" / "minimal.json").read_text(encoding="utf-8"))
    item = feed["shortFormVideos"][0]
    item["title"] = XSS_TITLE  # a markup-in-text warning: the item and its title are listed
    item["genres"] = ["<img src=x onerror=alert(2)>"]  # an error whose message quotes the value
    driver.get(base_url + "/")
    textarea = wait(driver).until(EC.element_to_be_clickable((By.ID, "feed-text")))
    textarea.send_keys(json.dumps(feed))
    textarea.find_element(By.XPATH, "./ancestor::form//button[@type='submit']").click()

    results = wait(driver).until(EC.visibility_of_element_located((By.ID, "results")))
    assert_no_alert(driver)
    assert driver.execute_script("return document.title") == "Feed invalid · roku-feed operator"
    assert driver.find_element(By.ID, "verdict").text == "Invalid: 1 error(s), 1 warning(s)"
    # the one image is the item's https thumbnail; no markup of the feed became an element
    [thumbnail] = driver.find_elements(By.TAG_NAME, "img")
    assert thumbnail.get_attribute("class") == "thumb" and thumbnail.get_attribute("onerror") is None
    assert thumbnail.get_attribute("src") == item["thumbnail"]
    assert driver.find_elements(By.TAG_NAME, "script") == []
    title = results.find_element(By.CLASS_NAME, "item-title")
    assert title.is_displayed() and title.text == XSS_TITLE
    assert any(
        "<img src=x onerror=alert(2)>" in cell.text for cell in results.find_elements(By.TAG_NAME, "td")
    )
    shot = tmp_path / "result.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 0


def test_uploaded_file_with_a_syntax_error_names_line_and_column(driver, base_url, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "providerName": "Press TV",\n}\n', encoding="utf-8")
    driver.get(base_url + "/")
    upload = wait(driver).until(EC.presence_of_element_located((By.ID, "feed-file")))
    upload.send_keys(str(broken))
    upload.find_element(By.XPATH, "./ancestor::form//button[@type='submit']").click()
    problem = wait(driver).until(EC.visibility_of_element_located((By.ID, "problem")))
    assert problem.text == "broken.json: not JSON: trailing comma before '}' at line 3, column 1"
    assert driver.title == "Feed not checked · roku-feed operator"


def test_a_too_large_upload_gets_the_friendly_page(driver, base_url, tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (3 * 1024 * 1024))  # over the 2 MiB MAX_CONTENT_LENGTH
    driver.get(base_url + "/")
    upload = wait(driver).until(EC.presence_of_element_located((By.ID, "feed-file")))
    upload.send_keys(str(big))
    upload.find_element(By.XPATH, "./ancestor::form//button[@type='submit']").click()
    wait(driver).until(EC.title_is("Too large · roku-feed operator"))
    alert = driver.find_element(By.CSS_SELECTOR, "[role=alert]")
    assert "larger than the 2.0 MiB (2,097,152 bytes) this page accepts" in alert.text
