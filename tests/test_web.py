"""The review web page in-process (Flask's test client) against a seeded store."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import itsdangerous.timed
import pytest
from flask import Flask
from flask.testing import FlaskClient
from review_support import NOW, XSS_URL, Seeded, candidate_holding, harvest_new_payments_pr, open_context, seed
from sqlalchemy import select

from harvester.context import Context
from harvester.review import ReviewService
from harvester.store import repository
from harvester.store.models import LinkConstraint
from harvester.web import create_app, tokens

PAYMENTS_PR = "github:acme/shop#102"


@pytest.fixture
def context(database_url: str) -> Context:
    return open_context(database_url)


@pytest.fixture
def seeded(context: Context) -> Seeded:
    return seed(context.sessions, context.user_id)


@pytest.fixture
def web(context: Context, seeded: Seeded) -> Flask:
    return create_app(context, now=lambda: NOW)


@pytest.fixture
def client(web: Flask) -> Iterator[FlaskClient]:
    with web.test_client() as client:
        yield client


def csrf(client: FlaskClient, path: str = "/week/2026-W46") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def state(context: Context, public_id: str) -> tuple[str, str | None, str]:
    with context.sessions() as session:
        row = repository.candidate_by_public_id(session, context.user_id, public_id)
        assert row is not None
        return row.state, row.impact, row.section


def items(context: Context, public_id: str) -> list[str]:
    with context.sessions() as session:
        return list(ReviewService(session, context.user_id).snapshot(public_id).activity_ids)


def link_token(context: Context, public_id: str, action: tokens.LinkAction, user: str = "me") -> str:
    with context.sessions.begin() as session:
        secret = repository.app_secret(session, tokens.SECRET_NAME)
    return tokens.make_token(secret, tokens.ReviewLink(user=user, candidate=public_id, action=action))


def test_home_opens_the_latest_week_with_pending_candidates(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/week/2026-W46")


def test_week_page_escapes_harvested_text(client: FlaskClient, seeded: Seeded) -> None:
    response = client.get("/week/2026-W46")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Fix the login" in page
    assert XSS_URL not in page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_week_page_shows_evidence_metrics_why_and_earlier_pending(client: FlaskClient, seeded: Seeded) -> None:
    page = client.get("/week/2026-W46").get_data(as_text=True)
    assert f'id="c-{seeded.payments}"' in page
    assert 'href="https://github.com/acme/shop/pull/101"' in page
    assert "from 4% to 1%" in page
    assert "same ticket PAY-12" in page
    assert f'value="{PAYMENTS_PR}"' in page
    earlier = page.split("Still pending from earlier weeks", 1)[1]
    assert f'id="c-{seeded.earlier}"' in earlier and "2 weeks ago" in earlier


def test_unknown_week_is_404_and_other_spellings_redirect(client: FlaskClient) -> None:
    assert client.get("/week/2026-W99").status_code == 404
    assert client.get("/week/2026W46").headers["Location"] == "/week/2026-W46"


def test_approve_with_edited_impact(client: FlaskClient, context: Context, seeded: Seeded) -> None:
    response = client.post(
        f"/candidates/{seeded.payments}/approve",
        data={
            "csrf_token": csrf(client),
            "next": "/week/2026-W46",
            "title": "Card payment retries",
            "impact": "Failed checkouts down from 4% to 1%",
            "section": "Projects",
        },
    )
    assert response.status_code == 302
    assert state(context, seeded.payments) == ("approved", "Failed checkouts down from 4% to 1%", "Projects")
    page = client.get("/week/2026-W46").get_data(as_text=True)
    assert f"Approved {seeded.payments}: Card payment retries." in page
    # the review moves on: it lands on the first pending card after the approved one
    order = re.findall(r'<article class="candidate[^"]*" id="c-([^"]+)"[^>]*data-state="([a-z]+)"', page)
    after = [public_id for public_id, card_state in order[[i for i, _ in order].index(seeded.payments) + 1 :]]
    pending = [public_id for public_id, card_state in order if card_state == "pending"]
    expected = next(i for i in after if i in pending)
    assert response.headers["Location"].endswith(f"/week/2026-W46#c-{expected}")
    assert (seeded.payments, "approved") in order


def test_reject(client: FlaskClient, context: Context, seeded: Seeded) -> None:
    client.post(f"/candidates/{seeded.credentials}/reject", data={"csrf_token": csrf(client)})
    assert state(context, seeded.credentials)[0] == "rejected"


def test_edit_keeps_the_candidate_pending(client: FlaskClient, context: Context, seeded: Seeded) -> None:
    client.post(
        f"/candidates/{seeded.credentials}/edit",
        data={"csrf_token": csrf(client), "impact": "No more shared passwords", "section": "Company building"},
    )
    assert state(context, seeded.credentials) == ("pending", "No more shared passwords", "Company building")


def test_merge_moves_the_other_candidates_items(client: FlaskClient, context: Context, seeded: Seeded) -> None:
    client.post(f"/candidates/{seeded.credentials}/merge", data={"csrf_token": csrf(client), "other": seeded.earlier})
    assert state(context, seeded.earlier)[0] == "merged"
    assert set(items(context, seeded.credentials)) == {"jira:OPS-7", "github:acme/shop#90"}
    page = client.get("/week/2026-W46").get_data(as_text=True)
    assert f'id="c-{seeded.earlier}"' not in page


def test_split_takes_an_item_out(client: FlaskClient, context: Context, seeded: Seeded) -> None:
    response = client.post(
        f"/candidates/{seeded.payments}/split", data={"csrf_token": csrf(client), "activity_id": PAYMENTS_PR}
    )
    with context.sessions() as session:
        alone = candidate_holding(session, context.user_id, PAYMENTS_PR)
    assert alone != seeded.payments
    assert response.headers["Location"].endswith(f"#c-{alone}")
    assert PAYMENTS_PR not in items(context, seeded.payments)
    assert f'id="c-{alone}"' in client.get("/week/2026-W46").get_data(as_text=True)


def test_review_error_is_shown_and_changes_nothing(client: FlaskClient, context: Context, seeded: Seeded) -> None:
    response = client.post(
        f"/candidates/{seeded.credentials}/split",
        data={"csrf_token": csrf(client), "activity_id": "jira:OPS-7", "next": "/week/2026-W46"},
        follow_redirects=True,
    )
    assert "has only one item; there is nothing to split" in response.get_data(as_text=True)
    assert items(context, seeded.credentials) == ["jira:OPS-7"]


def test_undo_puts_back_the_last_action(client: FlaskClient, context: Context, seeded: Seeded) -> None:
    token = csrf(client)
    client.post(f"/candidates/{seeded.payments}/approve", data={"csrf_token": token, "impact": "x"})
    response = client.post("/undo", data={"csrf_token": token, "next": "/week/2026-W46"}, follow_redirects=True)
    assert f"Undone: approved {seeded.payments}." in response.get_data(as_text=True)
    assert state(context, seeded.payments) == ("pending", None, "Projects")
    again = client.post("/undo", data={"csrf_token": token}, follow_redirects=True)
    assert "nothing to undo" in again.get_data(as_text=True)


@pytest.mark.parametrize("token", [None, "", "forged.token.value"])
def test_post_without_a_valid_csrf_token_is_refused(
    client: FlaskClient, context: Context, seeded: Seeded, token: str | None
) -> None:
    csrf(client)  # the browser has a session, the form lacks its token
    data = {"impact": "sneaky"} if token is None else {"impact": "sneaky", "csrf_token": token}
    response = client.post(f"/candidates/{seeded.payments}/approve", data=data)
    assert response.status_code == 400
    assert "Nothing was changed" in response.get_data(as_text=True)
    assert state(context, seeded.payments) == ("pending", None, "Projects")
    assert client.post("/undo", data=data).status_code == 400


def test_csrf_token_from_another_browser_is_refused(web: Flask, context: Context, seeded: Seeded) -> None:
    with web.test_client() as attacker, web.test_client() as victim:
        token = csrf(attacker)
        csrf(victim)
        response = victim.post(f"/candidates/{seeded.payments}/reject", data={"csrf_token": token})
    assert response.status_code == 400
    assert state(context, seeded.payments)[0] == "pending"


def test_get_never_changes_state(client: FlaskClient, context: Context, seeded: Seeded) -> None:
    assert client.get(f"/candidates/{seeded.payments}/approve").status_code == 405
    actions: tuple[tokens.LinkAction, ...] = ("approve", "reject", "review")
    for action in actions:
        response = client.get(f"/r/{link_token(context, seeded.payments, action)}")
        assert response.status_code == 200
    assert state(context, seeded.payments) == ("pending", None, "Projects")


def test_approve_link_shows_a_confirmation_form(client: FlaskClient, context: Context, seeded: Seeded) -> None:
    token = link_token(context, seeded.payments, "approve")
    page = client.get(f"/r/{token}").get_data(as_text=True)
    assert "Approve this accomplishment?" in page
    assert f'action="/r/{token}"' in page
    assert 'name="impact"' in page and 'name="title"' in page


def test_confirming_a_link_changes_state(client: FlaskClient, context: Context, seeded: Seeded) -> None:
    approve = link_token(context, seeded.payments, "approve")
    response = client.post(
        f"/r/{approve}",
        data={"csrf_token": csrf(client, f"/r/{approve}"), "impact": "Saved 30 support tickets a week"},
    )
    assert response.status_code == 302
    assert state(context, seeded.payments) == ("approved", "Saved 30 support tickets a week", "Projects")
    reject = link_token(context, seeded.credentials, "reject")
    client.post(f"/r/{reject}", data={"csrf_token": csrf(client, f"/r/{reject}")})
    assert state(context, seeded.credentials)[0] == "rejected"


def test_confirming_a_link_needs_csrf(client: FlaskClient, context: Context, seeded: Seeded) -> None:
    token = link_token(context, seeded.payments, "approve")
    assert client.post(f"/r/{token}", data={"impact": "x"}).status_code == 400
    assert state(context, seeded.payments)[0] == "pending"


def test_expired_link_is_410(
    client: FlaskClient, context: Context, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    past = int(time.time()) - tokens.LINK_MAX_AGE_SECONDS - 60
    with monkeypatch.context() as patch:
        patch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: past)
        token = link_token(context, seeded.payments, "approve")
    response = client.get(f"/r/{token}")
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)
    assert client.post(f"/r/{token}", data={"csrf_token": csrf(client)}).status_code == 410
    assert state(context, seeded.payments)[0] == "pending"


def test_forged_or_foreign_links_are_400(client: FlaskClient, context: Context, seeded: Seeded) -> None:
    token = link_token(context, seeded.payments, "approve")
    forged = tokens.make_token("not-our-secret", tokens.ReviewLink("me", seeded.payments, "approve"))
    for bad in (token[:-4], forged, "nonsense", link_token(context, seeded.payments, "approve", user="someone")):
        response = client.get(f"/r/{bad}")
        assert response.status_code == 400, bad
        assert "This link" in response.get_data(as_text=True)


def test_link_to_a_vanished_candidate(client: FlaskClient, context: Context) -> None:
    response = client.get(f"/r/{link_token(context, 'c-000000000000', 'approve')}")
    assert response.status_code == 404
    assert "no longer exists" in response.get_data(as_text=True)


def test_redirect_after_post_stays_on_this_site(client: FlaskClient, seeded: Seeded) -> None:
    response = client.post(
        f"/candidates/{seeded.credentials}/reject", data={"csrf_token": csrf(client), "next": "//evil.example/"}
    )
    assert response.headers["Location"].startswith("/week/2026-W46")


def test_doc_page_lists_approved_entries(client: FlaskClient, context: Context, seeded: Seeded) -> None:
    client.post(
        f"/candidates/{seeded.xss}/approve",
        data={"csrf_token": csrf(client), "impact": "Login works for <b>everyone</b>"},
    )
    page = client.get("/doc").get_data(as_text=True)
    assert "Login works for &lt;b&gt;everyone&lt;/b&gt;" in page
    assert "<script>alert(1)</script>" not in page
    markdown = client.get("/doc.md")
    assert markdown.headers["Content-Type"].startswith("text/markdown")
    assert "Login works for" in markdown.get_data(as_text=True)


def test_split_and_merge_record_constraints(client: FlaskClient, context: Context, seeded: Seeded) -> None:
    token = csrf(client)
    client.post(f"/candidates/{seeded.payments}/split", data={"csrf_token": token, "activity_id": PAYMENTS_PR})
    with context.sessions() as session:
        kinds = {row.kind for row in session.scalars(select(LinkConstraint))}
    assert kinds == {"cannot"}


def test_requests_for_another_host_are_refused(client: FlaskClient, context: Context, seeded: Seeded) -> None:
    # dns rebinding: a page on evil.example re-pointed at 127.0.0.1 still says Host: evil.example
    response = client.get("/week/2026-W46", headers={"Host": "evil.example:8765"})
    assert response.status_code == 400
    assert client.get("/week/2026-W46", headers={"Host": "127.0.0.1:8765"}).status_code == 200


@pytest.mark.parametrize(
    "next_",
    [
        "/\t/evil.example/",  # browsers drop tabs and line breaks: //evil.example
        "/\n/evil.example/",
        "/\r\n/evil.example/",
        " //evil.example/",  # and trim leading spaces and control characters
        "\x00//evil.example/",
        "/\\evil.example/",  # and read a backslash as a slash
        "/\t\\evil.example/",
        "https://evil.example/",
        "javascript:alert(1)",
    ],
)
def test_redirect_after_post_never_leaves_the_site_however_next_is_spelled(
    client: FlaskClient, context: Context, seeded: Seeded, next_: str
) -> None:
    response = client.post(f"/candidates/{seeded.credentials}/reject", data={"csrf_token": csrf(client), "next": next_})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/week/2026-W46#c-")
    assert state(context, seeded.credentials)[0] == "rejected"


def test_a_line_feed_in_next_still_redirects_after_the_action(
    client: FlaskClient, context: Context, seeded: Seeded
) -> None:
    # the action is committed before the redirect is built: the answer must not be a 500
    response = client.post(
        f"/candidates/{seeded.credentials}/reject",
        data={"csrf_token": csrf(client), "next": "/week/2026-W45\nSet-Cookie: x=1"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/week/2026-W45Set-Cookie:%20x=1#c-{seeded.credentials}"
    assert "Set-Cookie" not in {name for name, value in response.headers if value == "x=1"}
    response = client.post("/undo", data={"csrf_token": csrf(client), "next": "/week/2026-W45\r\n"})
    assert response.status_code == 302 and response.headers["Location"] == "/week/2026-W45"


def test_ipv6_loopback_host_is_served_and_other_literals_refused(
    client: FlaskClient, context: Context, seeded: Seeded
) -> None:
    assert client.get("/week/2026-W46", headers={"Host": "[::1]:8765"}).status_code == 200
    assert client.get("/week/2026-W46", headers={"Host": "[0:0::1]:8765"}).status_code == 200
    assert client.get("/week/2026-W46", headers={"Host": "[::1]"}).status_code == 200
    for host in ("[::2]:8765", "[::ffff:8.8.8.8]:8765", "evil.example@127.0.0.1:8765", "127.0.0.1.evil.example", "::1"):
        assert client.get("/week/2026-W46", headers={"Host": host}).status_code == 400, host
    # a POST to a refused host changes nothing, CSRF token or not
    token = csrf(client)
    response = client.post(
        f"/candidates/{seeded.credentials}/reject", data={"csrf_token": token}, headers={"Host": "evil.example"}
    )
    assert response.status_code == 400
    assert state(context, seeded.credentials)[0] == "pending"


def test_undo_that_cannot_apply_is_shown_as_an_error(client: FlaskClient, context: Context, seeded: Seeded) -> None:
    client.post(f"/candidates/{seeded.payments}/split", data={"csrf_token": csrf(client), "activity_id": PAYMENTS_PR})
    harvest_new_payments_pr(context.sessions, context.user_id)
    context.recluster(["2026-W46"])
    page = client.post("/undo", data={"csrf_token": csrf(client)}, follow_redirects=True).get_data(as_text=True)
    assert "Cannot undo" in page and "undo again to go back to the action before it" in page
