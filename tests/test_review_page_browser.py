"""The review page in a real headless Chromium: every action by mouse and by keyboard, with and
without JavaScript, at phone (375 px) and desktop (1280 px) widths.

Each run reviews the same seeded weeks (tests/review_support.py) on the app served over a real
WSGI server, and checks what a reviewer relies on after every action: the store changed as the
button said, the confirmation is on screen, the page is no wider than the window, a decided card
shrinks to one line, and review moves on to the next pending card. Screenshots (light and dark)
are kept in test-artifacts/review/ (ignored by git).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from review_support import NOW, WEEK, Seeded, open_context, seed

# the repository's Chromium launcher, and its skip when Chromium or ChromeDriver is missing
from test_browser_e2e import chromium, page_wait
from test_browser_e2e import pytestmark as pytestmark

from harvester.context import Context
from harvester.review import ReviewService
from harvester.store import repository
from harvester.web import ReviewServer, tokens

By = pytest.importorskip("selenium.webdriver.common.by").By
Keys = pytest.importorskip("selenium.webdriver.common.keys").Keys
ActionChains = pytest.importorskip("selenium.webdriver.common.action_chains").ActionChains

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "review"
WIDTHS = (375, 1280)
# a decided card is one line of text plus its padding and the small Undo button
ONE_LINE_PX = 60
Input = Literal["mouse", "keyboard"]


@dataclass
class Reviewer:
    """One browser on the review site, and the store behind it to check what each action did."""

    driver: Any
    base: str
    context: Context
    seeded: Seeded
    javascript: bool
    width: int

    def open(self, path: str = f"/week/{WEEK}") -> None:
        self.driver.get(self.base + path)
        self.wait(lambda d: d.find_element(By.TAG_NAME, "h1"))

    def wait(self, until: Callable[[Any], Any]) -> Any:
        return page_wait(self.driver, 15).until(until)

    def card(self, public_id: str) -> Any:
        return self.driver.find_element(By.ID, f"c-{public_id}")

    def use(self, element: Any, how: Input) -> None:
        """Press a button, open a <details>, choose a radio button, by mouse or by keyboard, and wait
        for the page that a form's POST-redirect-GET leads to when the element submits one."""
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        page = self.driver.find_element(By.TAG_NAME, "html")
        submits = element.tag_name == "button" and (element.get_attribute("type") or "submit") == "submit"
        if how == "mouse":
            ActionChains(self.driver).move_to_element(element).click().perform()
        elif element.get_attribute("type") == "radio":
            element.send_keys(Keys.SPACE)
        else:
            element.send_keys(Keys.ENTER)
        if submits:
            self.wait(lambda d: _stale(page))

    def press(self, keys: str, *, submits: bool = True) -> None:
        """Type at whatever has the focus, as the keyboard would."""
        page = self.driver.find_element(By.TAG_NAME, "html")
        ActionChains(self.driver).send_keys(keys).perform()
        if submits:
            self.wait(lambda d: _stale(page))

    def notice(self) -> str:
        """The confirmation of the last action; it must be on screen, not scrolled away."""
        notice = self.driver.find_element(By.CSS_SELECTOR, ".flashes")
        top, bottom, height = self.driver.execute_script(
            "var r = arguments[0].getBoundingClientRect(); return [r.top, r.bottom, innerHeight]", notice
        )
        assert top >= 0 and bottom <= height, f"the confirmation is off screen ({top}..{bottom} of {height})"
        text: str = notice.text
        return text

    def cards(self) -> list[tuple[str, str]]:
        """(public id, state) of every card, in the page's order."""
        return [
            (card.get_attribute("id").removeprefix("c-"), card.get_attribute("data-state"))
            for card in self.driver.find_elements(By.CSS_SELECTOR, "article.candidate")
        ]

    def landed_on(self) -> str:
        """The card review moved on to: the URL's fragment names it, and the browser gives the focus
        to a focusable fragment target (the cards have tabindex=-1), with or without JS."""
        fragment = self.driver.execute_script("return location.hash").removeprefix("#c-")
        assert self.driver.execute_script("return document.activeElement.id") == f"c-{fragment}"
        return str(fragment)

    def state(self, public_id: str) -> tuple[str, str, str | None, str]:
        with self.context.sessions() as session:
            row = repository.candidate_by_public_id(session, self.context.user_id, public_id)
            assert row is not None
            return row.state, row.title, row.impact, row.summary

    def holder(self, activity_id: str) -> str:
        with self.context.sessions() as session:
            holders = repository.candidate_holders(session, self.context.user_id, [activity_id])[activity_id]
        (public_id,) = holders
        return public_id

    def fits(self, label: str) -> None:
        scroll_width, inner_width = self.driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert scroll_width <= inner_width, f"{label}: the page is {scroll_width} px wide in a {inner_width} px window"

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for scheme in ("light", "dark"):
            emulate(self.driver, self.width, scheme=scheme)
            height = self.driver.execute_script("return document.documentElement.scrollHeight")
            emulate(self.driver, self.width, height=min(height, 8000), scheme=scheme)
            (ARTIFACTS / f"{name}-{self.width}-{scheme}.png").write_bytes(self.driver.get_screenshot_as_png())
        emulate(self.driver, self.width)


def _stale(element: Any) -> bool:
    try:
        element.tag_name  # noqa: B018 - reading it is the check
    except Exception:
        return True
    return False


def emulate(driver: Any, width: int, *, height: int = 800, scheme: str = "light") -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]}
    )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Context, Seeded]]:
    context = open_context(f"sqlite:///{tmp_path / 'brag.db'}")
    seeded = seed(context.sessions, context.user_id)
    with ReviewServer(context, port=0, now=lambda: NOW) as server:
        yield server.url, context, seeded


def reviewer(site: tuple[str, Context, Seeded], tmp_path: Path, *, javascript: bool, width: int) -> Iterator[Reviewer]:
    base, context, seeded = site
    with chromium(tmp_path, javascript=javascript) as driver:
        emulate(driver, width)
        yield Reviewer(driver, base, context, seeded, javascript, width)


@pytest.fixture(
    params=[pytest.param((js, w), id=f"{'js' if js else 'no-js'}-{w}") for js in (True, False) for w in WIDTHS]
)
def browser_at(request: pytest.FixtureRequest, site: tuple[str, Context, Seeded], tmp_path: Path) -> Iterator[Reviewer]:
    javascript, width = request.param
    yield from reviewer(site, tmp_path, javascript=javascript, width=width)


@pytest.fixture(params=WIDTHS, ids=lambda w: f"js-{w}")
def scripted(request: pytest.FixtureRequest, site: tuple[str, Context, Seeded], tmp_path: Path) -> Iterator[Reviewer]:
    yield from reviewer(site, tmp_path, javascript=True, width=request.param)


def next_pending(order: list[tuple[str, str]], after: str) -> str:
    ids = [public_id for public_id, _ in order]
    start = ids.index(after) + 1
    return next(i for i, state in order[start:] + order[:start] if state == "pending" and i != after)


@pytest.mark.parametrize("how", ["mouse", "keyboard"])
def test_every_action_on_the_review_page(browser_at: Reviewer, how: Input) -> None:
    r, s = browser_at, browser_at.seeded
    r.open()
    r.fits("the week")
    # the script shows the merge list's filter; without it that field stays hidden (and JS is off)
    assert r.driver.find_element(By.CSS_SELECTOR, "label.filter").get_property("hidden") is not r.javascript
    assert not r.driver.find_elements(By.CSS_SELECTOR, "select[name=other]")
    r.screenshot(f"week-{how}-{'js' if r.javascript else 'nojs'}")

    # approve: the card shrinks to one line and review moves on to the next pending card
    before = r.cards()
    r.use(r.card(s.payments).find_element(By.CSS_SELECTOR, "button[data-key=a]"), how)
    assert f"Approved {s.payments}" in r.notice()
    assert r.state(s.payments)[0] == "approved"
    assert r.landed_on() == next_pending(before, s.payments)
    decided = r.card(s.payments)
    assert "decided" in decided.get_attribute("class") and decided.size["height"] <= ONE_LINE_PX
    r.fits("after approving")

    # the decided card's Undo puts it back to review
    r.use(r.card(s.payments).find_element(By.CSS_SELECTOR, "form.reopen button"), how)
    assert "Back to review" in r.notice()
    assert r.state(s.payments)[0] == "pending"

    # edit the title: Enter in the field (or the Save button) saves without deciding
    card = r.card(s.xss)
    r.use(card.find_element(By.CSS_SELECTOR, "details.edit > summary"), how)
    title = card.find_element(By.NAME, "title")
    title.clear()
    title.send_keys("Escaped the login form's error message")
    if how == "keyboard":
        page = r.driver.find_element(By.TAG_NAME, "html")
        title.send_keys(Keys.ENTER)
        r.wait(lambda d: _stale(page))
    else:
        r.use(card.find_element(By.XPATH, ".//button[normalize-space()='Save']"), how)
    assert f"Saved {s.xss}" in r.notice()
    assert r.state(s.xss)[:2] == ("pending", "Escaped the login form's error message")

    # write the impact and approve with it
    card = r.card(s.xss)
    r.use(card.find_element(By.CSS_SELECTOR, "details.edit > summary"), how)
    card.find_element(By.NAME, "impact").send_keys("No more script injection through the login form")
    r.use(card.find_element(By.XPATH, ".//button[normalize-space()='Save and approve']"), how)
    assert r.state(s.xss)[:3] == (
        "approved",
        "Escaped the login form's error message",
        "No more script injection through the login form",
    )

    # merge: the small list of this and earlier weeks' candidates, filtered by typing when JS runs
    card = r.card(s.payments)
    r.use(card.find_element(By.CSS_SELECTOR, "details.merge > summary"), how)
    r.fits("with the merge list open")
    if r.javascript:
        card.find_element(By.CSS_SELECTOR, "input.filter").send_keys("staging credentials")
        shown = [label for label in card.find_elements(By.CSS_SELECTOR, "label.choice") if label.is_displayed()]
        assert [label.find_element(By.TAG_NAME, "input").get_attribute("value") for label in shown] == [s.credentials]
    else:
        r.use(card.find_element(By.CSS_SELECTOR, f"input[name=other][value='{s.credentials}']"), how)
    r.use(card.find_element(By.XPATH, ".//button[normalize-space()='Merge into this one']"), how)
    assert f"Merged {s.credentials}" in r.notice()
    assert r.state(s.credentials)[0] == "merged"
    assert r.holder("jira:OPS-7") == s.payments
    # what the card says about its members follows the merge
    card = r.card(s.payments)
    assert "2 tickets" in card.find_element(By.CSS_SELECTOR, ".summary").text
    assert "you merged in" in card.find_element(By.CSS_SELECTOR, "details.evidence > summary").text

    # split it out again
    r.use(card.find_element(By.CSS_SELECTOR, "details.evidence > summary"), how)
    split = card.find_element(By.CSS_SELECTOR, "button.split[value='jira:OPS-7']")
    r.use(split, how)
    assert "Split jira:OPS-7 out of" in r.notice()
    alone = r.holder("jira:OPS-7")
    assert alone != s.payments and r.state(alone)[0] == "pending"
    assert "1 ticket" in r.state(s.payments)[3]

    # reject the earlier week's candidate, then undo it from the confirmation
    r.use(r.card(s.earlier).find_element(By.CSS_SELECTOR, "button[data-key=x]"), how)
    assert f"Rejected {s.earlier}" in r.notice()
    assert r.state(s.earlier)[0] == "rejected"
    r.use(r.driver.find_element(By.CSS_SELECTOR, ".flash.ok button"), how)
    assert "Undone" in r.notice()
    assert r.state(s.earlier)[0] == "pending"
    r.fits("at the end")
    r.screenshot(f"week-reviewed-{how}-{'js' if r.javascript else 'nojs'}")

    # the brag doc: by quarter, then section, the impact right under the title
    r.open("/doc")
    r.fits("the brag doc")
    quarter = r.driver.find_element(By.CSS_SELECTOR, "section.quarter")
    assert quarter.find_element(By.TAG_NAME, "h2").text == "2026Q4"
    entry = quarter.find_element(By.ID, s.xss)
    assert entry.find_element(By.CSS_SELECTOR, ".title + time + p.impact").text.startswith("No more script injection")
    r.screenshot(f"doc-{how}-{'js' if r.javascript else 'nojs'}")


def focus_card(r: Reviewer, public_id: str) -> None:
    """Move with j from the top of the list to the card, as a user would."""
    r.press("k", submits=False)
    for _ in range(len(r.cards()) + 1):
        if r.driver.execute_script("return document.activeElement.id") == f"c-{public_id}":
            return
        r.press("j", submits=False)
    raise AssertionError(f"j never reached {public_id}")


def test_the_keys_do_every_action(scripted: Reviewer) -> None:
    r, s = scripted, scripted.seeded
    r.open()

    # j focuses the first card, a approves it, review moves on to the next pending card
    r.press("j", submits=False)
    first = r.cards()[0][0]
    assert r.driver.execute_script("return document.activeElement.id") == f"c-{first}"
    before = r.cards()
    r.press("a")
    assert r.state(first)[0] == "approved"
    assert f"Approved {first}" in r.notice()
    assert r.landed_on() == next_pending(before, first)

    # u on the decided card puts it back; x rejects; k goes back up
    focus_card(r, first)
    r.press("u")
    assert r.state(first)[0] == "pending"
    focus_card(r, s.credentials)
    r.press("x")
    assert r.state(s.credentials)[0] == "rejected"
    focus_card(r, s.credentials)
    r.press("u")
    assert r.state(s.credentials)[0] == "pending"

    # e edits the title (selected, so typing replaces it), Enter saves
    focus_card(r, s.xss)
    r.press("e", submits=False)
    r.press("Escaped the login form" + Keys.ENTER)
    assert r.state(s.xss)[:2] == ("pending", "Escaped the login form")

    # i writes the impact, Ctrl+Enter saves it
    focus_card(r, s.xss)
    r.press("i", submits=False)
    ActionChains(r.driver).send_keys("Closes an XSS hole").perform()
    page = r.driver.find_element(By.TAG_NAME, "html")
    ActionChains(r.driver).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()
    r.wait(lambda d: _stale(page))
    assert r.state(s.xss)[2] == "Closes an XSS hole"

    # m opens the merge list with its filter focused; one match is chosen, Enter merges it
    focus_card(r, s.payments)
    r.press("m", submits=False)
    r.press("staging" + Keys.ENTER)
    assert r.state(s.credentials)[0] == "merged"

    # s focuses the first Split out button, Enter splits that item out
    focus_card(r, s.payments)
    r.press("s", submits=False)
    split = r.driver.switch_to.active_element
    assert "split" in split.get_attribute("class")
    item = split.get_attribute("value")
    r.press(Keys.ENTER)
    assert r.holder(item) != s.payments

    # u with no card focused undoes the last action (the split)
    r.driver.execute_script("document.activeElement.blur()")
    r.press("u")
    assert "Undone" in r.notice()
    assert r.holder(item) == s.payments

    # ? shows the keys; Escape closes them
    r.press("?", submits=False)
    dialog = r.driver.find_element(By.ID, "keys")
    assert dialog.is_displayed() and "approve" in dialog.text
    r.press(Keys.ESCAPE, submits=False)
    r.wait(lambda d: not dialog.is_displayed())
    r.fits("after the keys")


def test_a_merged_candidates_email_link_names_where_it_went(browser_at: Reviewer) -> None:
    r, s = browser_at, browser_at.seeded
    with r.context.sessions.begin() as session:
        ReviewService(session, r.context.user_id).merge(s.payments, s.credentials)
        secret = repository.app_secret(session, tokens.SECRET_NAME)
    r.open(f"/r/{tokens.make_token(secret, tokens.ReviewLink('me', s.credentials, 'approve'))}")
    assert r.driver.find_element(By.TAG_NAME, "h1").text == "Already merged"
    into = r.driver.find_element(By.CSS_SELECTOR, "main p a")
    assert re.search(r"Retr", into.text), into.text
    r.use(into, "mouse" if r.javascript else "keyboard")
    r.wait(lambda d: d.execute_script("return location.hash") == f"#c-{s.payments}")
    r.fits("the merged link's page")
