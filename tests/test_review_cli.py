"""The review commands in-process through typer's runner: plain commands and the interactive walk."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from review_support import WEEK, ZONE, Seeded, config_file, harvest_new_payments_pr, open_context, seed
from typer.testing import CliRunner

from harvester.candidates import recluster_weeks
from harvester.cli import app
from harvester.clustering import load_pipeline
from harvester.context import Context
from harvester.review import ReviewService
from harvester.store import repository

runner = CliRunner()


@pytest.fixture
def context(database_url: str) -> Context:
    return open_context(database_url)


@pytest.fixture
def seeded(context: Context) -> Seeded:
    return seed(context.sessions, context.user_id)


@pytest.fixture
def config(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("BRAG_CONFIG", raising=False)
    return str(config_file(tmp_path, database_url))


def brag(config: str, *args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", config, *args], input=input)
    return result.exit_code, result.output


def state(context: Context, public_id: str) -> tuple[str, str | None, str]:
    with context.sessions() as session:
        row = repository.candidate_by_public_id(session, context.user_id, public_id)
        assert row is not None
        return row.state, row.impact, row.title


def items(context: Context, public_id: str) -> tuple[str, ...]:
    with context.sessions() as session:
        return ReviewService(session, context.user_id).snapshot(public_id).activity_ids


def test_approve_with_title_and_impact(config: str, context: Context, seeded: Seeded) -> None:
    code, output = brag(config, "approve", seeded.payments, "--title", "Card retries", "--impact", "Failures 4% → 1%")
    assert code == 0, output
    assert output.strip() == f"Approved {seeded.payments}: Card retries"
    assert state(context, seeded.payments) == ("approved", "Failures 4% → 1%", "Card retries")


def test_approve_prints_harvested_markup_literally(config: str, seeded: Seeded) -> None:
    code, output = brag(config, "approve", seeded.xss, "--title", "[bold]Login[/bold] fix")
    assert code == 0 and "[bold]Login[/bold] fix" in output


def test_review_errors_exit_1_with_the_message(config: str, context: Context, seeded: Seeded) -> None:
    code, output = brag(config, "approve", "c-nope")
    assert code == 1 and "no candidate 'c-nope'; `brag candidates` lists them" in output
    code, output = brag(config, "approve", seeded.payments, "--section", "Hobbies")
    assert code == 1 and "unknown section 'Hobbies'" in output
    assert state(context, seeded.payments)[0] == "pending"


def test_reject(config: str, context: Context, seeded: Seeded) -> None:
    code, output = brag(config, "reject", seeded.credentials)
    assert code == 0 and output.startswith(f"Rejected {seeded.credentials}")
    assert state(context, seeded.credentials)[0] == "rejected"


def test_merge_and_split(config: str, context: Context, seeded: Seeded) -> None:
    code, output = brag(config, "merge", seeded.payments, seeded.xss)
    assert code == 0, output
    assert state(context, seeded.xss)[0] == "merged"
    assert "github:acme/shop#103" in items(context, seeded.payments)
    code, output = brag(config, "split", seeded.payments, "github:acme/shop#103")
    assert code == 0, output
    assert "github:acme/shop#103" not in items(context, seeded.payments)
    code, output = brag(config, "merge", seeded.payments, seeded.payments)
    assert code == 1 and "into itself" in output


def test_undo(config: str, context: Context, seeded: Seeded) -> None:
    brag(config, "reject", seeded.credentials)
    code, output = brag(config, "undo")
    assert code == 0 and output.strip() == f"Undone: rejected {seeded.credentials}"
    assert state(context, seeded.credentials)[0] == "pending"
    code, output = brag(config, "undo")
    assert code == 1 and "nothing to undo" in output


def pending_order(context: Context) -> list[str]:
    with context.sessions() as session:
        return [row.public_id for row in repository.candidate_rows(session, context.user_id, states=["pending"])]


def test_review_walks_pending_candidates(config: str, context: Context, seeded: Seeded) -> None:
    first, second, third, *_ = pending_order(context)
    # approve the first with an impact (Enter keeps the title), reject the second, skip the third, quit
    code, output = brag(config, "review", input="a\nSearch is 3x faster\n\nr\nn\nq\n")
    assert code == 0, output
    assert state(context, first)[:2] == ("approved", "Search is 3x faster")
    assert state(context, second)[0] == "rejected"
    assert state(context, third)[0] == "pending"
    # the fourth was never reached: it is left for later too
    assert "1 approved, 1 rejected, 2 left for later" in output


def test_review_shows_harvested_text_literally(config: str, seeded: Seeded) -> None:
    code, output = brag(config, "review", input="n\nn\nn\nn\n")
    assert code == 0
    assert "<script>alert(1)</script> Fix the login" in output
    assert "Nothing left to review" not in output and "That was the last one." in output


def test_review_split_merge_and_undo(config: str, context: Context, seeded: Seeded) -> None:
    order = pending_order(context)
    assert order[0] == seeded.earlier
    # on the first candidate: merge the credentials candidate in, split it back out (item 2), undo the split
    script = f"m\n{seeded.credentials}\ns\n2\nu\nq\n"
    code, output = brag(config, "review", input=script)
    assert code == 0, output
    assert f"Merged {seeded.credentials} into {seeded.earlier}" in output
    assert "Undone: split" in output
    assert set(items(context, seeded.earlier)) == {"github:acme/shop#90", "jira:OPS-7"}


def test_review_reports_errors_and_carries_on(config: str, seeded: Seeded) -> None:
    code, output = brag(config, "review", input="m\nc-nope\nq\n")
    assert code == 0
    assert "error: no candidate 'c-nope'" in output


def test_serve_says_when_the_port_is_taken(config: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = brag(config, "serve", "--port", str(port))
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in output


def test_undo_that_cannot_apply_exits_1_and_the_next_undo_goes_on(
    config: str, context: Context, seeded: Seeded
) -> None:
    brag(config, "reject", seeded.credentials)
    code, output = brag(config, "split", seeded.payments, "github:acme/shop#102")
    assert code == 0, output
    harvest_new_payments_pr(context.sessions, context.user_id)
    recluster_weeks(context.sessions, context.user_id, ZONE, [WEEK], load_pipeline(None))
    code, output = brag(config, "undo")
    assert code == 1
    assert f'Cannot undo "split github:acme/shop#102 out of {seeded.payments}' in " ".join(output.split())
    assert "no longer exists" in output and "undo again" in output
    code, output = brag(config, "undo")
    assert code == 0 and output.strip() == f"Undone: rejected {seeded.credentials}"
