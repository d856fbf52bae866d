"""The HTML leaderboard in a real headless browser (Debian's chromium through its chromedriver):
clicking a column header sorts the rows, and a submission's text is shown as text, never run."""

import json
import shutil

import pytest

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH: apt-get install chromium chromium-driver (as .ci/run does)"
)

NASTY_NAME = '<img src=x onerror="window.pwned=1"> & <b>bold</b> "quoted"'
NASTY_URL = "https://example.org/?a=1&b=<2>"


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """The seen board built from the filed submissions plus one whose name and url are hostile."""
    from gr_bench.leaderboard import SUBMISSIONS_DIR, build_boards, load_manifest

    root = tmp_path_factory.mktemp("board")
    version = f"v{load_manifest()['suites']['seen']['version']}"
    filed, seen = SUBMISSIONS_DIR / "seen" / version, root / "submissions" / "seen" / version
    seen.mkdir(parents=True)
    for path in sorted(filed.glob("*.json")):
        shutil.copy(path, seen / path.name)
    record = json.loads((filed / "random-gr-bench-reference.json").read_text())
    record["submission"].update(name=NASTY_NAME, url=NASTY_URL)
    (seen / "nasty.json").write_text(json.dumps(record))
    build_boards(root / "submissions", root / "boards")
    return root / "boards" / "index.html"


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    # the system chromedriver: nothing is downloaded at run time
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=service, options=options)
    yield driver
    driver.quit()


def _column(driver, table_id: str, header: str) -> list[str]:
    from selenium.webdriver.common.by import By

    table = driver.find_element(By.ID, table_id)
    headers = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    index = headers.index(header)
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    return [row.find_elements(By.TAG_NAME, "td")[index].text for row in rows]


def _click(driver, table_id: str, header: str) -> None:
    from selenium.webdriver.common.by import By

    table = driver.find_element(By.ID, table_id)
    next(th for th in table.find_elements(By.CSS_SELECTOR, "thead th") if th.text == header).click()


def test_clicking_a_header_sorts_the_rows(board, browser):
    browser.get(board.as_uri())
    names = _column(browser, "seen", "name")
    success = [float(v) for v in _column(browser, "seen", "success")]
    from gr_bench.leaderboard import SUBMISSIONS_DIR, load_manifest

    filed = list((SUBMISSIONS_DIR / "seen" / f"v{load_manifest()['suites']['seen']['version']}").glob("*.json"))
    assert names[0] == "oracle (gr-bench reference)" and len(names) == len(filed) + 1  # and the hostile one
    assert success == sorted(success, reverse=True)  # as built: best first

    _click(browser, "seen", "success")  # first click: ascending
    ascending = [float(v) for v in _column(browser, "seen", "success")]
    assert ascending == sorted(success)
    assert _column(browser, "seen", "name")[-1] == "oracle (gr-bench reference)"

    _click(browser, "seen", "success")  # second click: descending
    assert [float(v) for v in _column(browser, "seen", "success")] == sorted(success, reverse=True)

    _click(browser, "seen", "name")  # text columns sort as text
    assert _column(browser, "seen", "name") == sorted(names)
    # each row moved as a whole: the name still sits beside its own agent
    pairs = dict(zip(_column(browser, "seen", "name"), _column(browser, "seen", "agent"), strict=True))
    assert pairs["oracle (gr-bench reference)"] == "oracle" and pairs[NASTY_NAME] == "random"


def test_text_fields_are_escaped(board, browser):
    from selenium.webdriver.common.by import By

    browser.get(board.as_uri())
    assert NASTY_NAME in _column(browser, "seen", "name")  # shown literally, as text
    table = browser.find_element(By.ID, "seen")
    assert table.find_elements(By.TAG_NAME, "img") == [] and table.find_elements(By.TAG_NAME, "b") == []
    assert browser.execute_script("return window.pwned") is None  # the onerror handler never ran
    link = table.find_element(By.LINK_TEXT, NASTY_NAME)
    assert link.get_attribute("href") == "https://example.org/?a=1&b=%3C2%3E"
    assert NASTY_URL in _column(browser, "seen", "url")
