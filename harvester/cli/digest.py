"""`brag digest`: the weekly digest as a preview, an HTML file or an email."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from harvester.cli.common import console, open_context, user_errors

if TYPE_CHECKING:
    pass


def digest(
    week: Annotated[str | None, typer.Option(help="ISO week like 2026-W46; default: the current week")] = None,
    send: Annotated[
        bool, typer.Option("--send", help="queue the week's digest and email it, with any digest still queued")
    ] = False,
    retry: Annotated[bool, typer.Option("--retry", help="email queued digests, and resend unconfirmed ones")] = False,
    output: Annotated[Path | None, typer.Option("--output", help="write the digest as HTML to this file")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="mail digests again after unsubscribing")] = False,
) -> None:
    """The weekly digest of candidates to review: a preview, an HTML file, or an email (never sent twice)."""
    from harvester.cli import digest_send as digest_command
    from harvester.store import repository

    if sum((send, retry, output is not None)) > 1:
        raise typer.BadParameter("choose one of --send, --retry and --output")
    code = 0
    with user_errors():
        context = open_context()
        if resume:
            with context.sessions.begin() as session:
                repository.set_digests_paused(session, context.user_id, None)
            console.print("Digest emails are on again.")
            if not (send or retry):
                raise typer.Exit(0)
        try:
            label = digest_command.resolve_week(context, week)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--week") from None
        if send or retry:
            code = digest_command.send(console, context, label, draft_week=send)
        elif output is not None:
            email = context.config.settings.email
            digest = digest_command.draft(context, label)
            digest_command.write_html(console, digest, output, email.to if email else None)
        else:
            digest_command.preview(console, digest_command.draft(context, label))
    raise typer.Exit(code)
