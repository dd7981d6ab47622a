"""One review in a real headless Chromium: a digest email arrives over SMTP, its links open the page.

The digest is sent by `brag digest --send` to a local aiosmtpd server; the review links are taken
from the message that server received, opened in the browser against the app on a real WSGI
server, and used to approve one candidate (with an edited impact) and reject another.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from review_support import NOW, Seeded, open_context, seed
from typer.testing import CliRunner

from harvester.cli import app as cli
from harvester.sandbox.smtp import free_port
from harvester.store import repository
from harvester.web import ReviewServer, tokens

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None or shutil.which(CHROMEDRIVER) is None,
    reason=f"needs Debian's Chromium and ChromeDriver at {CHROMIUM} and {CHROMEDRIVER} (apt install chromium-driver)",
)
webdriver = pytest.importorskip("selenium.webdriver")
By = pytest.importorskip("selenium.webdriver.common.by").By
WebDriverWait = pytest.importorskip("selenium.webdriver.support.ui").WebDriverWait
_exceptions = pytest.importorskip("selenium.common.exceptions")


def page_wait(browser: Any, seconds: float = 20) -> Any:
    """A wait that keeps polling while a click's navigation replaces the page under it.

    An element found on the old page goes stale when the new one loads (Chromium 150 in CI
    raised StaleElementReferenceException from inside the wait); not found yet is also "not yet".
    """
    return WebDriverWait(
        browser,
        seconds,
        ignored_exceptions=(_exceptions.StaleElementReferenceException, _exceptions.NoSuchElementException),
    )


IMPACT = "Checkout failures down from 4% to 1%; about 300 fewer support tickets a month"


class Inbox:
    """aiosmtpd handler that keeps every message it is handed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@contextmanager
def chromium(profile: Path, *, javascript: bool = True) -> Iterator[Any]:
    """Headless Chromium with its own profile in `profile`; `javascript=False` runs pages without scripts."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-proxy-server",
        f"--user-data-dir={profile / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with chromium(tmp_path) as driver:
        yield driver


def config_file(tmp_path: Path, database_url: str, smtp_port: int, base_url: str) -> Path:
    path = tmp_path / "brag.toml"
    path.write_text(
        f'[database]\nurl = "{database_url}"\n'
        '[user]\nname = "me"\ntimezone = "Europe/Berlin"\n'
        '[email]\nto = "me@acme.com"\nfrom = "Brag Harvester <brag@acme.com>"\n'
        f'smtp_host = "127.0.0.1"\nsmtp_port = {smtp_port}\nsmtp_security = "none"\n'
        f'[web]\nbase_url = "{base_url}"\n'
    )
    return path


def review_links(message: EmailMessage, base_url: str, secret: str) -> dict[tuple[str, str], str]:
    """Every review link in the HTML part, keyed by (candidate, action) as its token says."""
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    urls = set(re.findall(re.escape(base_url) + r"/r/[A-Za-z0-9_.\-]+", html.get_content()))
    found: dict[tuple[str, str], str] = {}
    for url in urls:
        link = tokens.read_token(secret, url.rsplit("/", 1)[1])
        found[(link.candidate, link.action)] = url
    return found


def test_review_from_a_digest_email_in_a_real_browser(
    tmp_path: Path,
    database_url: str,
    inbox: tuple[Inbox, int],
    browser: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    received, smtp_port = inbox
    context = open_context(database_url)
    seeded: Seeded = seed(context.sessions, context.user_id)
    with ReviewServer(context, port=0, now=lambda: NOW) as server:
        monkeypatch.delenv("BRAG_CONFIG", raising=False)
        config = config_file(tmp_path, database_url, smtp_port, server.url)
        sent = CliRunner().invoke(cli, ["--config", str(config), "digest", "--week", "2026-W46", "--send"])
        assert sent.exit_code == 0, sent.output
        (message,) = received.messages
        assert message["Subject"].startswith("Your wins for 2026-W46")
        with context.sessions.begin() as session:
            secret = repository.app_secret(session, tokens.SECRET_NAME)
        emailed = review_links(message, server.url, secret)
        wait = page_wait(browser, 15)

        browser.get(emailed[(seeded.payments, "approve")])
        wait.until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "Approve this accomplishment?")
        title = browser.find_element(By.NAME, "title")
        title.clear()
        title.send_keys("Card payments retry on timeout")
        impact = browser.find_element(By.NAME, "impact")
        impact.clear()
        impact.send_keys(IMPACT)
        browser.find_element(By.CSS_SELECTOR, "form.decide button[type=submit]").click()
        wait.until(lambda d: "Approved" in d.find_element(By.CSS_SELECTOR, ".flash.ok").text)
        assert browser.current_url.startswith(f"{server.url}/week/2026-W46")

        browser.get(emailed[(seeded.credentials, "reject")])
        wait.until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "Reject this candidate?")
        browser.find_element(By.CSS_SELECTOR, "form.decide button[type=submit]").click()
        wait.until(lambda d: "Rejected" in d.find_element(By.CSS_SELECTOR, ".flash.ok").text)

        browser.get(f"{server.url}/doc")
        entry = wait.until(lambda d: d.find_element(By.ID, seeded.payments))
        assert "Card payments retry on timeout" in entry.text
        assert IMPACT in entry.find_element(By.CSS_SELECTOR, ".impact").text
        assert "Rotate the staging database credentials" not in browser.find_element(By.TAG_NAME, "main").text

    with context.sessions() as session:
        states = {
            public_id: row.state
            for public_id in (seeded.payments, seeded.credentials, seeded.xss)
            if (row := repository.candidate_by_public_id(session, context.user_id, public_id)) is not None
        }
    assert states == {seeded.payments: "approved", seeded.credentials: "rejected", seeded.xss: "pending"}
