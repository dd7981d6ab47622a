"""Team sign-in in a real headless Chromium: the sandbox provider's login page, your own week, sign out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from review_support import ACTIVITIES, NOW, renamed, seed
from signin_support import add_user, team_context
from signin_support import provider as provider
from test_browser_e2e import By, chromium, page_wait
from test_browser_e2e import pytestmark as pytestmark

from harvester.sandbox.oidc import SANDBOX_PEOPLE, OidcSandbox
from harvester.sandbox.smtp import free_port
from harvester.store import repository
from harvester.web import ReviewServer

ADA, GRACE = SANDBOX_PEOPLE[:2]
MARKER = "Quokka"


@pytest.fixture
def site(team_database: str, provider: OidcSandbox) -> Iterator[tuple[ReviewServer, list[str]]]:
    """The site on a real server, and the titles of Ada's week."""
    port = free_port()
    context = team_context(team_database, provider, base_url=f"http://127.0.0.1:{port}")
    ada = add_user(context, provider, ADA).id
    seed(context.sessions, ada, ACTIVITIES)
    seed(context.sessions, add_user(context, provider, GRACE).id, renamed(MARKER))
    with context.sessions() as session:
        titles = [row.title for row in repository.candidate_rows(session, ada, weeks=["2026-W46"])]
    with ReviewServer(context, port=port, now=lambda: NOW) as server:
        yield server, titles


def test_sign_in_see_only_your_week_and_sign_out(
    site: tuple[ReviewServer, list[str]], provider: OidcSandbox, tmp_path: Path
) -> None:
    server, titles = site
    with chromium(tmp_path) as browser:
        wait = page_wait(browser)
        browser.get(f"{server.url}/")
        # signed out: the review page sends the browser to the provider's login page
        wait.until(lambda b: b.current_url.startswith(provider.base_url + "/authorize"))
        assert GRACE.email in browser.page_source
        browser.find_element(By.XPATH, f"//button[contains(., '{ADA.email}')]").click()
        wait.until(lambda b: b.current_url.startswith(f"{server.url}/week/2026-W46"))
        page = browser.find_element(By.TAG_NAME, "main").text
        assert titles and all(title in page for title in titles)
        assert MARKER not in browser.page_source
        assert ADA.name in browser.find_element(By.CSS_SELECTOR, "header.site").text
        browser.find_element(By.XPATH, "//header//button[normalize-space()='Sign out']").click()
        wait.until(lambda b: "signed out" in b.find_element(By.TAG_NAME, "h1").text)
        browser.get(f"{server.url}/week/2026-W46")
        wait.until(lambda b: b.current_url.startswith(provider.base_url + "/authorize"))
