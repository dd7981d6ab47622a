"""The digest's List-Unsubscribe link: one-click POST pauses the emails; `brag digest --resume` restarts them."""

from __future__ import annotations

import re

from digest_support import BASE_URL, WEEK, email_settings, seed
from review_support import open_context

from harvester.digest.outbox import Delivery, deliver_queued, load_digest, queue_digest
from harvester.sandbox.smtp import SmtpSink
from harvester.store import repository
from harvester.web import create_app


def test_one_click_unsubscribe_stops_the_digest_until_resumed(database_url: str) -> None:
    app = open_context(database_url)
    seed(app.sessions, app.user_id)
    with SmtpSink() as sink:
        settings = email_settings(sink.port)
        with app.sessions.begin() as session:
            digest = load_digest(
                session, user_id=app.user_id, user_name="me", week=WEEK, base_url=BASE_URL, zone=app.zone
            )
            queue_digest(session, app.user_id, digest, settings, BASE_URL)
        deliver_queued(app.sessions, app.user_id, settings)
        (mail,) = sink.received
        header = mail.message()["List-Unsubscribe"]
        (path,) = re.findall(re.escape(BASE_URL) + r"(/unsubscribe/[^>]+)>", header)

        client = create_app(app).test_client()
        page = client.get(path)
        assert page.status_code == 200 and "Stop the weekly digest" in page.get_data(as_text=True)
        with app.sessions() as session:
            assert repository.digests_paused_at(session, app.user_id) is None  # a GET changes nothing

        # what a mailbox provider sends for RFC 8058 one-click: no cookies, no CSRF token
        done = client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200 and "Unsubscribed" in done.get_data(as_text=True)

        with app.sessions.begin() as session:
            row = repository.digest_row(session, app.user_id, WEEK)
            assert row is not None
            row.status = "queued"  # another week's digest waiting: it must not go out
        assert deliver_queued(app.sessions, app.user_id, settings)[0].status == "paused"
        assert len(sink.received) == 1

        with app.sessions.begin() as session:
            repository.set_digests_paused(session, app.user_id, None)
        assert deliver_queued(app.sessions, app.user_id, settings) == [Delivery(WEEK, "sent")]
        assert len(sink.received) == 2


def test_forged_unsubscribe_link_is_refused(database_url: str) -> None:
    app = open_context(database_url)
    client = create_app(app).test_client()
    assert client.post("/unsubscribe/not-a-token").status_code == 400
    with app.sessions() as session:
        assert repository.digests_paused_at(session, app.user_id) is None
