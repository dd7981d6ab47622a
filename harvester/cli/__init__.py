"""The `brag` command line: a thin edge over the context, the sync runner and the pure core.

Each command lives in the module of its group and imports what its work needs when it runs, so
`brag --help` starts without loading spaCy, the database layer or any source's client library.
Commands are registered here, in the order `brag --help` lists them. Where a command's work is
large, it lives beside the command's module and is imported when the command runs:
`cluster_records` (`brag cluster`), `digest_send`, `init_config` (with `sources.checks`),
`demo_run`, `review_terminal` and `tables`.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from harvester.cli import auth, cluster, demo, digest, documents, harvest, init, review, service, team, worker
from harvester.cli.common import state

__all__ = ["app", "main"]

app = typer.Typer(
    name="brag",
    help="Keeps your brag document for you: harvests your work, drafts accomplishments, asks for impact.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # click's plain help: Rich's costs a tenth of a second of start-up and reads [schedule] as markup
    rich_markup_mode=None,
    context_settings={"max_content_width": 100},
)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="configuration file (default: $BRAG_CONFIG, then the user config dir)"),
]


@app.callback()
def main_options(
    config: ConfigOption = None, verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False
) -> None:
    state.config_path = config
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.ERROR,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


for command in (
    harvest.harvest,
    harvest.activities,
    cluster.candidates,
    cluster.cluster,
    documents.doc,
    digest.digest,
    review.approve,
    review.reject,
    review.merge,
    review.split,
    review.include,
    review.undo,
    review.review,
    service.serve,
    documents.export,
    service.run,
    service.schedule,
    service.health,
    worker.worker,
    init.init,
    demo.demo,
):
    app.command()(command)

auth_app = typer.Typer(help="Authorize Brag Harvester to read a source (OAuth).", no_args_is_help=True)
auth_app.command("google")(auth.auth_google)
app.add_typer(auth_app, name="auth")
app.add_typer(team.team_app, name="team")


def main() -> None:
    app()
