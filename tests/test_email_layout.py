"""The digest email in a real headless Chromium at phone, Outlook-pane and desktop widths.

A realistic week (7 items with metrics and reasons, a meetings line, the count of smaller items,
earlier weeks, a long unbroken title and URL) is rendered as the email's HTML part and opened from
a file. At each width: nothing is wider than the window, every button is at least 44 px tall with
its whole label visible, and a full-page screenshot is kept in test-artifacts/email/ (ignored by git).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from digest_support import MONDAY, WEEK, pr

# the repository's Chromium fixture, and its skip when Chromium or ChromeDriver is missing
from test_browser_e2e import browser as browser
from test_browser_e2e import pytestmark as pytestmark
from test_digest_ranking import event

from harvester.config import EmailSettings
from harvester.digest import CandidateInput, Digest, build_digest, render_html, render_text
from harvester.digest.outbox import message_for
from harvester.records import Activity
from harvester.web.tokens import LinkAction

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "email"
WIDTHS = (320, 375, 600, 1200)
BUTTONS = ("Approve", "Reject", "Add impact")
TOUCH_TARGET = 44
GMAIL_CLIP_BYTES = 102 * 1024
TO = "Dana Kim <dana@acme.com>"
LONG_WORD = "ReplacedTheLegacyCardGatewayAdapterWithAnIdempotentRetryingClientForEveryWalletProvider"
LONG_URL = (
    "https://grafana.acme.internal/d/payments-latency-overview/card-payments?orgId=1&from=now-7d&to=now"
    "&var-service=card-payments-gateway-v2&var-region=eu-west-1&viewPanel=12"
)
REVIEW_PAGE = "https://brag-harvester.platform-engineering.acme-corporation.example.com/"


def link(public_id: str, action: LinkAction) -> str:
    # as long as a real signed token (harvester/web/tokens.py)
    return f"{REVIEW_PAGE}r/{public_id}.{action}.eyJ1IjoibWUiLCJjIjoiYy0xIiwiYSI6ImFwcHJvdmUifQ.Zm9vYmFyYmF6"


def ticket(key: str, title: str, **extra: Any) -> Activity:
    url = f"https://acme.atlassian.net/browse/{key}"
    return Activity(
        id=f"jira:{key}", source="jira", kind="ticket", title=title, url=url, occurred_at=MONDAY, extra=extra
    )


def work(public_id: str, title: str, *activities: Activity, week: str = WEEK, metric: str = "") -> CandidateInput:
    return CandidateInput(
        public_id=public_id,
        week=week,
        title=title,
        summary=f"{title}, reviewed and shipped to production.",
        section="Projects",
        why="same ticket" if len(activities) > 1 else "",
        metrics=({"text": metric},) if metric else (),
        activities=activities,
    )


def realistic_week() -> Digest:
    this_week = [
        work(
            "c-refunds",
            "Fixed double refunds on concurrent requests (PAY-31)",
            pr(102, "PAY-31 lock refunds row before issuing", MONDAY),
            ticket("PAY-31", "Double refunds", issue_type="Bug", priority="Highest"),
            metric="from 4% to 0%",
        ),
        work(
            "c-webhooks",
            "Added retries to payment webhooks (PAY-12)",
            pr(101, "PAY-12 webhook retries with backoff", MONDAY),
            ticket("PAY-12", "Webhook retries", issue_type="Story", story_points=5),
            metric="p95 from 2.1 s to 0.4 s",
        ),
        work("c-long", LONG_WORD, pr(103, LONG_URL, MONDAY, url=LONG_URL)),
        *(
            work(f"c-fix{n}", f"Fixed flaky checkout test {n}", pr(110 + n, f"Stabilise checkout test {n}", MONDAY))
            for n in range(1, 7)
        ),
        work("c-design", "Design review: ledger", event(1, "Design review: ledger", organised=True)),
        work("c-talk", "Tech talk", event(2, "Tech talk: idempotency keys", attendees=40, organised=True)),
    ]
    earlier = [
        work(f"c-old{n}", f"Migrated billing job {n} to the queue", pr(90 + n, f"Billing job {n}", MONDAY), week=week)
        for n, week in enumerate(("2026-W43", "2026-W44", "2026-W45", "2026-W45"), start=1)
    ]

    def built(max_items: int) -> Digest:
        return build_digest(
            user="me",
            week=WEEK,
            candidates=this_week,
            earlier=earlier,
            link=link,
            review_page=REVIEW_PAGE,
            zone=MONDAY.tzinfo,  # type: ignore[arg-type]
            max_items=max_items,
        )

    week = built(7)
    # a week of 7 items, its smaller ones counted, and two earlier candidates listed (what a larger
    # max_items lists) with the rest of them counted: every part of the email at once
    return replace(week, earlier=built(20).earlier[:2], earlier_more=2)


@pytest.fixture(scope="module")
def digest() -> Digest:
    week = realistic_week()
    assert len(week.entries) == 7 and week.smaller and week.meetings and week.earlier and week.earlier_more
    return week


@pytest.fixture
def email_file(tmp_path: Path, digest: Digest) -> Path:
    path = tmp_path / "digest.html"
    path.write_text(render_html(digest, TO), encoding="utf-8")
    return path


@pytest.fixture
def artifacts() -> Iterator[Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield ARTIFACTS


def open_at(driver: Any, page: Path, width: int, *, dark: bool = False) -> None:
    # device metrics, not the window size: the page's own width is then exactly `width`
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}
    )
    scheme = [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": scheme})
    driver.get(page.as_uri())


def screenshot(driver: Any, path: Path, width: int) -> None:
    """The whole message, not only the first screen."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    path.write_bytes(driver.get_screenshot_as_png())


def overflow(driver: Any) -> tuple[int, int]:
    widths: tuple[int, int] = tuple(
        driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    )
    return widths


# each button's box, label and whether its label fits inside it and nothing covers its middle
BUTTON_FACTS = """
return Array.from(document.querySelectorAll('a.bh-button')).map(function (a) {
  a.scrollIntoView({block: 'center'});
  var box = a.getBoundingClientRect();
  var style = getComputedStyle(a);
  var hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return {label: a.innerText, href: a.getAttribute('href'), height: box.height, left: box.left,
          right: box.right, fits: a.scrollWidth <= a.clientWidth + 1, visible: style.visibility === 'visible',
          color: style.color, background: style.backgroundColor, onTop: hit === a || a.contains(hit)};
});
"""


@pytest.mark.parametrize("width", WIDTHS)
def test_the_email_fits_the_width_and_its_buttons_are_touch_targets(
    browser: Any,
    email_file: Path,
    artifacts: Path,
    digest: Digest,
    width: int,
) -> None:
    open_at(browser, email_file, width)
    scroll_width, inner_width = overflow(browser)
    assert inner_width == width and scroll_width <= inner_width
    buttons = browser.execute_script(BUTTON_FACTS)
    listed = digest.entries + digest.earlier
    assert [b["label"] for b in buttons] == [label for _ in listed for label in BUTTONS]
    assert [b["href"] for b in buttons[:3]] == [
        digest.entries[0].links.approve,
        digest.entries[0].links.reject,
        digest.entries[0].links.review,
    ]
    for button in buttons:
        assert button["height"] >= TOUCH_TARGET, button
        assert button["left"] >= 0 and button["right"] <= width, button
        assert button["fits"] and button["visible"] and button["onTop"], button
        assert button["color"] == "rgb(255, 255, 255)" and button["background"] != button["color"], button
    # the column stops growing at 600 px (plus the page's own margin) on a wide screen
    column = browser.execute_script("return document.querySelector('.bh-sheet').getBoundingClientRect().width")
    assert column <= 600 and (width < 640 or column == 600)
    screenshot(browser, artifacts / f"digest-{width}.png", width)


def test_the_layout_needs_no_style_block(
    browser: Any,
    tmp_path: Path,
    digest: Digest,
    artifacts: Path,
) -> None:
    # Gmail drops <style> in some of its clients: the column must still fit a phone without it
    bare = re.sub(r"<style>.*?</style>", "", render_html(digest, TO), flags=re.DOTALL)
    page = tmp_path / "bare.html"
    page.write_text(bare, encoding="utf-8")
    open_at(browser, page, 375)
    scroll_width, inner_width = overflow(browser)
    assert scroll_width <= inner_width
    heights = browser.execute_script(
        "return Array.from(document.querySelectorAll('a.bh-button')).map(a => a.getBoundingClientRect().height)"
    )
    assert heights and min(heights) >= TOUCH_TARGET
    screenshot(browser, artifacts / "digest-375-no-style.png", 375)


def test_dark_mode_recolours_the_column_and_keeps_text_readable(
    browser: Any,
    email_file: Path,
    artifacts: Path,
) -> None:
    open_at(browser, email_file, 375, dark=True)
    colours = browser.execute_script(
        "var sheet = document.querySelector('.bh-sheet');"
        "return [getComputedStyle(sheet).backgroundColor, getComputedStyle(sheet.querySelector('h1')).color,"
        " getComputedStyle(sheet.querySelector('h2')).color]"
    )
    assert colours == ["rgb(31, 41, 55)", "rgb(243, 244, 246)", "rgb(243, 244, 246)"]
    scroll_width, inner_width = overflow(browser)
    assert scroll_width <= inner_width
    screenshot(browser, artifacts / "digest-375-dark.png", 375)


def test_outlook_on_windows_gets_a_fixed_width_column() -> None:
    html = render_html(realistic_week(), TO)
    # Word ignores max-width: only Outlook reads the conditional table that holds the column at 600 px
    opened = html.index('<!--[if mso]><table role="presentation" width="600" align="center"')
    column = html.index('class="bh-sheet"')
    closed = html.index("<!--[if mso]></td></tr></table><![endif]-->")
    assert opened < column < closed
    assert 'width="600"' not in html.replace('<!--[if mso]><table role="presentation" width="600"', "")


def test_greeting_and_footer_name_the_person() -> None:
    week = realistic_week()
    html, text = render_html(week, TO), render_text(week, TO)
    assert text.startswith("Hi Dana Kim,\n") and ">Hi Dana Kim,</p>" in html
    assert "Sent by Brag Harvester to Dana Kim <dana@acme.com>;" in text
    assert "Sent by Brag Harvester to Dana Kim &lt;dana@acme.com&gt;;" in html
    # [user] name is a login and [email] to has no name: no name is made up from either
    plain = render_text(replace(week, user="dkim"), "dkim@acme.com")
    assert plain.startswith("Hi,\n") and "Sent by Brag Harvester to dkim@acme.com;" in plain
    # the preview (`brag digest --output`) knows only [user] name
    named = render_html(replace(week, user="Dana"))
    assert ">Hi Dana,</p>" in named and "Sent by Brag Harvester to Dana;" in named
    assert "Sent by Brag Harvester to you;" in render_text(week)


def test_a_name_cannot_add_markup_or_lines() -> None:
    week = replace(realistic_week(), user="x")
    hostile = '"<b>Eve</b>\u202e\nBcc: someone else" <eve@acme.com>'
    html, text = render_html(week, hostile), render_text(week, hostile)
    assert "<b>Eve" not in html and "&lt;b&gt;Eve&lt;/b&gt;" in html
    assert "\u202e" not in html + text
    assert not any(line.startswith("Bcc") for line in text.splitlines())


def test_the_plain_text_part_reads_in_the_html_parts_order() -> None:
    week = realistic_week()
    text = render_text(week, TO)
    order = [
        "Hi Dana Kim,",
        "Impact? While it is fresh:",
        "1. Fixed double refunds",
        "   Add impact: " + week.entries[0].links.review,
        "7. ",
        "Meetings: ",
        f"{week.smaller_line}: {REVIEW_PAGE}",
        "Still waiting from earlier weeks",
        "8. Migrated billing job 1 to the queue  [2026-W43, 3 weeks old]",
        f"{week.earlier_line}: {REVIEW_PAGE}",
        "Sent by Brag Harvester to Dana Kim",
    ]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)
    assert text.count(LONG_URL) == 1 and text.count("What changed for users") == 1


def test_the_message_keeps_its_mime_structure_and_names_the_recipient() -> None:
    settings = EmailSettings.model_validate({"to": TO, "from": "Brag Harvester <brag@acme.com>"})
    _, raw = message_for(realistic_week(), settings, "https://brag.acme.com")
    message = message_from_bytes(raw, policy=policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["To"] == TO and message["Subject"] == "Your wins for 2026-W46: 9 to review"
    for part in message.iter_parts():
        assert "Sent by Brag Harvester to Dana Kim" in part.get_content()
    # Gmail clips a message whose HTML is over 102 KB behind "[Message clipped] View entire message"
    html = message.get_body(preferencelist=("html",))
    assert html is not None and len(html.get_content().encode()) < GMAIL_CLIP_BYTES
