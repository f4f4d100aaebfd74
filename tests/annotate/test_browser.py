"""A real Chromium (Debian's, driven by Selenium through Debian's chromedriver) on the real
server: an annotator logs in and works with the keyboard only — three pairs, an undo, a top-2
ranking of four responses — and the export holds exactly what was chosen; a ``<script>`` in a
response shows as text; at 375 px there is no horizontal scroll and every answer button is
inside the viewport. Screenshots are saved in the test's tmp folder."""

import json
import shutil
import sys
from pathlib import Path

import pytest

from rewardkit.annotate.accounts import add_annotator
from rewardkit.annotate.export import export
from rewardkit.annotate.items import import_items
from rewardkit.annotate.web.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent))
from annotate_helpers import LiveServer, settings, write_items  # noqa: E402

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
PAYLOAD = '<script>window.pwned = 1; document.title = "pwned"</script>'
ITEMS = [
    {"id": "p1", "prompt": "Is tea good?", "responses": ["Yes, tea is good.", "No."]},
    {
        "id": "p2",
        "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "responses": [PAYLOAD, "Hello! " + "A long answer that wraps. " * 20],
    },
    {"id": "p3", "prompt": "Two plus two?", "responses": ["four", "5"]},
    {"id": "k4", "prompt": "Rank the colours", "responses": ["red", "blue", "green", "teal"]},
]


@pytest.fixture
def browser():
    if not (Path(CHROMIUM).exists() and shutil.which(DRIVER)):
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def press(driver, *keys):
    from selenium.webdriver.common.action_chains import ActionChains

    for key in keys:
        ActionChains(driver).send_keys(key).perform()


def wait_for_new_page(driver, old_item: str | None):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(
        lambda d: (
            d.execute_script("return document.readyState") == "complete"
            and current_item(d) != old_item
        )
    )


def current_item(driver) -> str | None:
    """The item on the page (read in one script call: no stale element mid-navigation)."""
    return driver.execute_script(
        "const f = document.getElementById('judge'); return f ? f.dataset.item : null;"
    )


def shown_order(driver) -> list[int]:
    value = driver.find_element("name", "shown").get_attribute("value")
    return [int(i) for i in value.split(",")]


def phone_layout(driver, name: str, folder: Path) -> dict:
    """Emulate a 375 px wide phone, check the layout, save a screenshot."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 375, "height": 812, "deviceScaleFactor": 2, "mobile": True},
    )
    driver.refresh()
    layout = driver.execute_script(
        "const b = [...document.querySelectorAll('.answers button')].map(e => {"
        "  const r = e.getBoundingClientRect(); return [r.left, r.right, r.width]; });"
        "return {inner: window.innerWidth, scroll: document.documentElement.scrollWidth,"
        "        buttons: b};"
    )
    driver.save_screenshot(str(folder / f"{name}-375px.png"))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.refresh()
    driver.save_screenshot(str(folder / f"{name}-desktop.png"))
    return layout


def assert_fits(layout):
    assert layout["inner"] == 375
    assert layout["scroll"] <= layout["inner"], "horizontal scroll at 375 px"
    assert layout["buttons"], "no answer buttons"
    for left, right, width in layout["buttons"]:
        assert width > 0 and left >= 0 and right <= layout["inner"]


def test_keyboard_only_session_and_phone_width(browser, sqlite_store, tmp_path):
    import_items(sqlite_store, write_items(tmp_path / "items.jsonl", ITEMS))
    token = add_annotator(sqlite_store, "alice")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with LiveServer(create_app(sqlite_store, settings(overlap=2))) as url:
        browser.get(f"{url}/login")
        browser.find_element("id", "name").click()
        press(browser, "alice", "\t", token, "\n")
        wait_for_new_page(browser, None)
        assert browser.find_element("id", "progress").get_attribute("max") == "4"

        # p1: "a" picks the left response
        assert_fits(phone_layout(browser, "pair", shots))  # reloads: a new left/right draw
        item = current_item(browser)
        order = {item: shown_order(browser)}
        press(browser, "a")
        wait_for_new_page(browser, item)

        # p2: the payload is text; "2" (clear) then "b" picks the right response
        item = current_item(browser)
        order[item] = shown_order(browser)
        texts = [e.text for e in browser.find_elements("css selector", ".response .text")]
        assert PAYLOAD in texts
        assert browser.execute_script("return window.pwned") is None
        assert browser.title == "rewardkit annotate"
        assert "Be brief." in browser.find_element("id", "prompt").text
        browser.save_screenshot(str(shots / "payload-desktop.png"))
        press(browser, "2", "b")
        wait_for_new_page(browser, item)

        # p3: "t" (tie), then "u" undoes it: the same item comes back; "x" = both bad
        item = current_item(browser)
        press(browser, "t")
        wait_for_new_page(browser, item)
        after = current_item(browser)
        press(browser, "u")
        wait_for_new_page(browser, after)
        assert current_item(browser) == item
        press(browser, "x")
        wait_for_new_page(browser, item)

        # k4: rank the third shown, then the first shown; Enter saves the top-2
        assert_fits(phone_layout(browser, "ranking", shots))
        item = current_item(browser)
        order[item] = shown_order(browser)
        press(browser, "3", "1")
        ranks = [e.text for e in browser.find_elements("css selector", ".response .rank")]
        assert ranks == ["#2", "", "#1", ""]
        press(browser, "\n")
        wait_for_new_page(browser, item)
        assert browser.find_element("id", "done").is_displayed()

    meta = export(sqlite_store, tmp_path / "pairs.jsonl")
    pairs = {}
    for line in (tmp_path / "pairs.jsonl").read_text().splitlines():
        row = json.loads(line)
        pairs.setdefault(row["id"].split(":")[0], []).append(row)
    responses = {n: item["responses"] for n, item in enumerate(ITEMS, start=1)}
    (p1,), (p2,) = pairs["p1"], pairs["p2"]
    assert p1["chosen"] == responses[1][order["1"][0]] and "margin" not in p1
    assert (p2["chosen"], p2["margin"]) == (responses[2][order["2"][1]], 0.5)
    assert "p3" not in pairs and meta["both_bad_items_left_out"] == 1
    top = [order["4"][2], order["4"][0]]
    rest = [i for i in range(4) if i not in top]
    expected = [(top[0], top[1])] + [(t, r) for t in top for r in rest]
    names = responses[4]
    assert sorted((p["chosen"], p["rejected"]) for p in pairs["k4"]) == sorted(
        (names[a], names[b]) for a, b in expected
    )
    assert meta["votes"] == 3 and meta["rankings"] == 1 and meta["pairs"] == 2 + 5
    assert sorted(p.name for p in shots.iterdir()) == [
        "pair-375px.png",
        "pair-desktop.png",
        "payload-desktop.png",
        "ranking-375px.png",
        "ranking-desktop.png",
    ]
    print(f"screenshots in {shots}")
