"""The settings page in a real headless Chromium, at phone and desktop widths: sign in, connect an
account through the provider's consent page, disconnect it, delete everything."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from connect_support import TeamSandboxes, team_with_sources
from signin_support import add_user
from test_browser_e2e import By, chromium, page_wait
from test_browser_e2e import pytestmark as pytestmark
from test_review_page_browser import emulate

from harvester.context import Context
from harvester.sandbox.oidc import SANDBOX_PEOPLE
from harvester.sandbox.smtp import free_port
from harvester.sandbox.team import team_sandboxes
from harvester.store import accounts
from harvester.store.models import User
from harvester.web import ReviewServer

ADA = SANDBOX_PEOPLE[0]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "settings"


@dataclass
class Site:
    url: str
    context: Context
    sources: TeamSandboxes
    ada: int


@pytest.fixture
def site(team_database: str) -> Iterator[Site]:
    with team_sandboxes() as sources:
        # the port is picked once the sandboxes hold theirs, so none of them can take it meanwhile
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        sources.register(base_url)
        context = team_with_sources(team_database, base_url, sources)
        ada = add_user(context, sources.identity, ADA).id
        with ReviewServer(context, port=port) as server:
            yield Site(server.url, context, sources, ada)


def button(browser: Any, text: str) -> Any:
    return browser.find_element(By.XPATH, f"//button[contains(normalize-space(.), '{text}')]")


def flash(browser: Any) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, ".flashes").text)


def fits(browser: Any, what: str) -> None:
    scroll, inner = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{what}: {scroll} px wide in a {inner} px window"


def screenshot(browser: Any, width: int, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    emulate(browser, width, height=min(height, 6000))
    (ARTIFACTS / f"{name}-{width}.png").write_bytes(browser.get_screenshot_as_png())
    emulate(browser, width)


@pytest.mark.parametrize("width", [375, 1280])
def test_connect_disconnect_and_delete_in_a_real_browser(site: Site, width: int, tmp_path: Path) -> None:
    with chromium(tmp_path) as browser:
        emulate(browser, width)
        # a page being replaced by the next one leaves stale or missing elements for a moment
        wait = page_wait(browser)
        browser.get(f"{site.url}/")
        wait.until(lambda b: b.current_url.startswith(site.sources.identity.base_url))
        button(browser, ADA.email).click()
        wait.until(lambda b: b.current_url.startswith(f"{site.url}/week/"))
        browser.find_element(By.LINK_TEXT, "Settings").click()
        wait.until(lambda b: b.find_element(By.TAG_NAME, "h1").text == "Settings")
        fits(browser, "the settings page")
        screenshot(browser, width, "settings-new")

        button(browser, "Connect GitHub").click()
        # the provider's own consent page, on the sandbox GitHub
        wait.until(lambda b: b.current_url.startswith(f"{site.sources.github.base_url}/login/oauth/authorize"))
        button(browser, "Authorize").click()
        wait.until(lambda b: b.current_url.startswith(f"{site.url}/settings"))
        assert "GitHub is connected" in flash(browser)
        github = browser.find_element(By.ID, "account-github").text
        assert "Connected" in github and "Disconnect GitHub" in github
        fits(browser, "the settings page with GitHub connected")
        screenshot(browser, width, "settings-connected")
        with site.context.sessions() as session:
            assert [info.status for info in accounts.grants_of(session, site.ada)] == ["connected"]

        button(browser, "Disconnect GitHub").click()
        wait.until(lambda b: "GitHub is disconnected" in flash(b))
        assert "Connect GitHub" in browser.find_element(By.ID, "account-github").text
        with site.context.sessions() as session:
            assert accounts.grants_of(session, site.ada) == []

        button(browser, "Connect Jira").click()
        wait.until(lambda b: b.current_url.startswith(f"{site.sources.jira.base_url}/authorize"))
        button(browser, "Authorize").click()
        wait.until(lambda b: "Jira is connected" in flash(b))

        browser.find_element(By.ID, "confirm").send_keys("delete")
        button(browser, "Delete my data").click()
        wait.until(lambda b: b.find_element(By.TAG_NAME, "h1").text == "Your data is deleted")
        fits(browser, "the deleted page")
        with site.context.sessions() as session:
            assert session.get(User, site.ada) is None
            assert accounts.grants_of(session, site.ada) == []
        # signed out with it: the site asks to sign in again
        browser.get(f"{site.url}/settings")
        wait.until(lambda b: b.current_url.startswith(site.sources.identity.base_url))
