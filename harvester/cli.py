"""The `brag` command line: a thin edge over the app, the sync runner and the pure core."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from harvester.app import App
from harvester.clustering import SECTIONS
from harvester.config import LoadedConfig, NotConfiguredError, load_config
from harvester.display import one_line
from harvester.errors import BragError, ConfigError
from harvester.renderers import ExportFormat
from harvester.review import ReviewService
from harvester.sources import available_connectors
from harvester.store import repository
from harvester.sync import Progress as HarvestProgress
from harvester.sync import SourceResult
from harvester.terminal import activity_table, candidate_table
from harvester.timeutil import iso_week_window, parse_moment

app = typer.Typer(
    name="brag",
    help="Keeps your brag document for you: harvests your work, drafts accomplishments, asks for impact.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

T = TypeVar("T")

EXIT_SOURCE_FAILED = 1
EXIT_CONFIG = 2


class State:
    config_path: Path | None = None
    # the file a command read, so errors raised later (a connector's, a secret's) can name it
    loaded_path: Path | None = None


state = State()

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


def read_config(*, missing_ok: bool = False) -> LoadedConfig:
    config = load_config(state.config_path, missing_ok=missing_ok)
    state.loaded_path = config.path
    return config


def open_app() -> App:
    return App.open(read_config())


@contextmanager
def user_errors() -> Iterator[None]:
    """Errors meant for the user end the command with one clear line, not a traceback."""
    try:
        yield
    except ConfigError as exc:
        where = f"{state.loaded_path}: " if exc.path is None and state.loaded_path is not None else ""
        err_console.print(
            f"[bold red]configuration error:[/] {escape(where + str(exc))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(EXIT_CONFIG) from None
    except BragError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_SOURCE_FAILED) from None


def _moment(text: str | None, app_: App, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_moment(text, app_.zone)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def _window_options(
    app_: App, since: str | None, until: str | None, *, until_may_be_future: bool
) -> tuple[datetime | None, datetime | None]:
    """`--since/--until` as moments; an inverted window or one starting in the future is a usage error."""
    start, end = _moment(since, app_, "--since"), _moment(until, app_, "--until")
    now = app_.now()
    if start is not None and start > now:
        raise typer.BadParameter(f"{since} is in the future (now is {now:%Y-%m-%d %H:%M})", param_hint="--since")
    if start is not None and end is not None and end <= start:
        raise typer.BadParameter(f"{until} is not after --since {since}", param_hint="--until")
    if end is not None and end > now and not until_may_be_future:
        # a cursor saved at a future moment would skip whatever happens until then
        raise typer.BadParameter(
            f"{until} is in the future (now is {now:%Y-%m-%d %H:%M}); leave it out to harvest up to now",
            param_hint="--until",
        )
    return start, end


@app.command()
def harvest(
    source: Annotated[str | None, typer.Option("--source", help="harvest only this source (e.g. github)")] = None,
    since: Annotated[str | None, typer.Option(help="start, inclusive: date or datetime in your timezone")] = None,
    until: Annotated[str | None, typer.Option(help="end, exclusive: date or datetime in your timezone")] = None,
) -> None:
    """Harvest new work from every configured source (or one), continuing from where the last run stopped."""
    with user_errors():
        app_ = open_app()
        start, end = _window_options(app_, since, until, until_may_be_future=False)
        _known_source(source)
        connectors = app_.connectors(source)
        if not connectors:
            names = [f"[{name}]" for name in sorted(available_connectors())]
            wanted = f"[{source}]" if source else f"{', '.join(names[:-1])} or {names[-1]}"
            hint = f"source {source!r} is not configured" if source else "no source is configured"
            raise ConfigError(
                f"{hint}; add a {wanted} section (see config/brag.example.toml, or run `brag init`)",
                path=app_.config.path,
            )
        results = run_harvest(app_, source, start, end)
    print_summary(results)
    with user_errors():
        weeks = app_.recluster_changed(results)
    if weeks:
        total = sum(week.candidates for week in weeks)
        console.print(
            f"Re-clustered {len(weeks)} week(s): {total} candidates ({', '.join(w.week for w in weeks)}). "
            "See them with: brag candidates"
        )
    if not all(result.ok for result in results):
        raise typer.Exit(EXIT_SOURCE_FAILED)


def _known_source(source: str | None) -> None:
    known = sorted(available_connectors())
    if source is not None and source not in known:
        raise typer.BadParameter(
            f"unknown source {source!r}; the sources are: {', '.join(known)}", param_hint="--source"
        )


def run_harvest(app_: App, source: str | None, since: datetime | None, until: datetime | None) -> list[SourceResult]:
    if not err_console.is_terminal:

        def plain(event: HarvestProgress) -> None:
            total = f"/{event.expected}" if event.expected is not None else ""
            err_console.print(f"{event.source}: {event.done}{total} items", highlight=False)

        return app_.harvest(only=source, since=since, until=until, progress=plain)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(event: HarvestProgress) -> None:
            if event.source not in tasks:
                tasks[event.source] = bar.add_task(event.source, total=None)
            bar.update(tasks[event.source], completed=event.done, total=event.expected)

        return app_.harvest(only=source, since=since, until=until, progress=update)


def print_summary(results: list[SourceResult]) -> None:
    table = Table(title="Harvest", title_justify="left")
    for column in ("source", "window", "new", "updated", "unchanged", "result"):
        table.add_column(column, justify="right" if column in ("new", "updated", "unchanged") else "left")
    for result in results:
        window = f"{result.window.start:%Y-%m-%d %H:%M} → {result.window.end:%Y-%m-%d %H:%M}"
        outcome = "[green]ok[/]" if result.ok else "[red]failed[/] (below)"
        counts = result.counts
        table.add_row(result.source, window, str(counts.new), str(counts.updated), str(counts.unchanged), outcome)
    console.print(table)
    for result in results:
        for note in result.notes:
            console.print(f"[yellow]{escape(result.source)}:[/] {escape(note)}", soft_wrap=True, highlight=False)
        if not result.ok:
            console.print(
                f"[red]{escape(result.source)} failed:[/] {escape(result.error or '')}", soft_wrap=True, highlight=False
            )
            if result.fix:
                console.print(f"  [yellow]fix:[/] {escape(result.fix)}", soft_wrap=True, highlight=False)


class ActivityFormat(StrEnum):
    table = "table"
    jsonl = "jsonl"


@app.command()
def activities(
    format: Annotated[ActivityFormat, typer.Option("--format", help="table, or jsonl: one record per line")] = (
        ActivityFormat.table
    ),
    source: Annotated[str | None, typer.Option(help="only this source")] = None,
    since: Annotated[str | None, typer.Option(help="occurred at or after (your timezone)")] = None,
    until: Annotated[str | None, typer.Option(help="occurred before (your timezone)")] = None,
) -> None:
    """List harvested activities; `--format jsonl` writes the public activity record format."""
    _known_source(source)
    with user_errors():
        app_ = open_app()
        start, end = _window_options(app_, since, until, until_may_be_future=True)
        with app_.sessions() as session:
            records = repository.list_activities(
                session, app_.user_id, sources=[source] if source else None, since=start, until=end
            )
    if format is ActivityFormat.jsonl:
        out = sys.stdout
        for record in records:
            out.write(record.to_jsonl() + "\n")
        out.flush()
        return
    console.print(activity_table(records, app_.zone))


class CandidateFormat(StrEnum):
    table = "table"
    json = "json"


@app.command()
def candidates(
    week: Annotated[
        str | None, typer.Option(help="ISO week like 2026-W46; default: every week with pending ones")
    ] = None,
    format: Annotated[CandidateFormat, typer.Option("--format", help="table or json")] = CandidateFormat.table,
) -> None:
    """List candidate accomplishments; the ids are the ones review commands take."""
    with user_errors():
        app_ = open_app()
        app_.finish_clustering()
        if week is not None:
            try:
                iso_week_window(week, app_.zone)
            except ValueError as exc:
                raise typer.BadParameter(str(exc), param_hint="--week") from None
        with app_.sessions() as session:
            rows = repository.candidate_rows(
                session,
                app_.user_id,
                weeks=[week] if week else None,
                states=None if week else ["pending"],
            )
            rows = [row for row in rows if row.state != "merged"]
            members = repository.candidate_members(session, [row.id for row in rows])
    if format is CandidateFormat.json:
        payload = [
            {
                "id": row.public_id,
                "week": row.week,
                "state": row.state,
                "title": row.title,
                "summary": row.summary,
                "section": row.section,
                "why": row.why,
                "impact": row.impact,
                "metrics": row.metrics,
                "activity_ids": [a.id for a in members[row.id]],
            }
            for row in rows
        ]
        sys.stdout.write(json.dumps({"candidates": payload}, ensure_ascii=False, indent=2) + "\n")
        return
    if not rows:
        console.print("No candidates" + (f" in {week}." if week else " waiting for review."))
        return
    console.print(candidate_table(rows, members))


@app.command()
def cluster(
    file: Annotated[str, typer.Argument(help="activity records (JSONL), or - for standard input")] = "-",
    batches: Annotated[
        bool, typer.Option("--batches", help='each line is {"batch_id": ..., "activities": [...]}')
    ] = False,
    model: Annotated[str | None, typer.Option(help="spaCy pipeline; default: [nlp] model")] = None,
) -> None:
    """Group activity records into candidate accomplishments, without a database."""
    from harvester.cluster_command import run_cluster_command

    with user_errors():
        wanted = model or read_config(missing_ok=True).settings.nlp.model
    try:
        if file == "-":
            code = run_cluster_command(sys.stdin, sys.stdout, sys.stderr, batches=batches, model=wanted)
        else:
            try:
                handle = open(file, encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                err_console.print(f"[bold red]error:[/] cannot read {escape(file)}: {escape(exc.strerror or '')}")
                raise typer.Exit(2) from None
            with handle:
                code = run_cluster_command(handle, sys.stdout, sys.stderr, batches=batches, model=wanted)
    except UnicodeDecodeError as exc:
        err_console.print(f"[bold red]error:[/] the input is not UTF-8 text (byte {exc.start} of a line)")
        raise typer.Exit(2) from None
    raise typer.Exit(code)


class DocFormat(StrEnum):
    md = "md"
    html = "html"


@app.command()
def doc(
    format: Annotated[DocFormat, typer.Option("--format", help="md (Markdown) or html")] = DocFormat.md,
    output: Annotated[Path | None, typer.Option("--output", help="write to this file instead of the terminal")] = None,
) -> None:
    """Render the brag doc: approved entries, newest first, by quarter and section."""
    from harvester import bragdoc

    with user_errors():
        app_ = open_app()
        app_.finish_clustering()
        with app_.sessions() as session:
            doc_entries = bragdoc.entries(session, app_.user_id, app_.zone)
    text = bragdoc.render_html(doc_entries) if format is DocFormat.html else bragdoc.render_markdown(doc_entries)
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    console.print(f"Wrote {len(doc_entries)} entries to {escape(str(output))}")


@app.command()
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
    from harvester import digest_command

    if sum((send, retry, output is not None)) > 1:
        raise typer.BadParameter("choose one of --send, --retry and --output")
    code = 0
    with user_errors():
        app_ = open_app()
        if resume:
            with app_.sessions.begin() as session:
                repository.set_digests_paused(session, app_.user_id, None)
            console.print("Digest emails are on again.")
            if not (send or retry):
                raise typer.Exit(0)
        try:
            label = digest_command.resolve_week(app_, week)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--week") from None
        if send or retry:
            code = digest_command.send(console, app_, label, draft_week=send)
        elif output is not None:
            digest_command.write_html(console, digest_command.draft(app_, label), output)
        else:
            digest_command.preview(console, digest_command.draft(app_, label))
    raise typer.Exit(code)


CandidateArg = Annotated[str, typer.Argument(metavar="ID", help="candidate id, as `brag candidates` lists it")]


def _review(action: Callable[[ReviewService], T]) -> T:
    """One review action in its own transaction; a ReviewError ends the command with its message (exit 1)."""
    with user_errors():
        app_ = open_app()
        with app_.sessions.begin() as session:
            return action(ReviewService(session, app_.user_id))


def _section(text: str | None) -> str | None:
    """The section as the brag doc spells it, typed in any case; an unknown one is the review's to refuse (exit 1)."""
    if text is None:
        return None
    by_folded = {name.casefold(): name for name in SECTIONS}
    return by_folded.get(" ".join(text.split()).casefold(), text)


@app.command()
def approve(
    candidate: CandidateArg,
    title: Annotated[str | None, typer.Option(help="replace the drafted title")] = None,
    summary: Annotated[str | None, typer.Option(help="replace the drafted summary")] = None,
    impact: Annotated[str | None, typer.Option(help="what changed for users or the business, in your words")] = None,
    section: Annotated[
        str | None,
        typer.Option(help=f"brag-doc section (any case): {', '.join(SECTIONS)}", callback=_section),
    ] = None,
) -> None:
    """Approve a candidate into the brag doc, optionally rewording it."""
    done = _review(lambda r: r.approve(candidate, title=title, summary=summary, impact=impact, section=section))
    console.print(f"Approved {done.public_id}: {escape(one_line(done.title))}", highlight=False, soft_wrap=True)


@app.command()
def reject(candidate: CandidateArg) -> None:
    """Reject a candidate: it stays out of the brag doc and the digest."""
    done = _review(lambda r: r.reject(candidate))
    console.print(f"Rejected {done.public_id}: {escape(one_line(done.title))}", highlight=False, soft_wrap=True)


@app.command()
def merge(
    target: Annotated[str, typer.Argument(metavar="ID", help="the candidate to keep")],
    other: Annotated[str, typer.Argument(metavar="OTHER_ID", help="the candidate whose items move into ID")],
) -> None:
    """Merge OTHER_ID into ID; later re-clustering keeps their items together."""
    done = _review(lambda r: r.merge(target, other))
    console.print(f"Merged {escape(other)} into {done.public_id}: {escape(one_line(done.title))}", highlight=False)


@app.command()
def split(
    candidate: CandidateArg,
    activity_id: Annotated[str, typer.Argument(help="the item to take out (`brag candidates --format json`)")],
) -> None:
    """Take one item out of a candidate into its own; later re-clustering keeps them apart."""
    done = _review(lambda r: r.split(candidate, activity_id))
    console.print(f"Split {escape(activity_id)} out of {escape(candidate)} into {done.public_id}", highlight=False)


@app.command()
def undo() -> None:
    """Undo the most recent review action (from the terminal, the web page or an email link)."""
    done = _review(lambda r: r.undo())
    if not done.applied:
        err_console.print(f"[bold red]error:[/] {escape(done.message)}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_SOURCE_FAILED)
    console.print(escape(done.message), highlight=False)


@app.command()
def review() -> None:
    """Walk the pending candidates one by one: approve, reject, merge, split, undo, skip."""
    from harvester.review_terminal import run_review

    with user_errors():
        app_ = open_app()
        app_.finish_clustering()
        run_review(console, app_.sessions, app_.user_id, app_.zone)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on; the page has no login, so keep it local")] = (
        "127.0.0.1"
    ),
    port: Annotated[
        int | None, typer.Option(help="port to listen on (default: the one in [web] base_url, else 8765)")
    ] = None,
) -> None:
    """Serve the review page, where the digest's links lead."""
    from urllib.parse import urlsplit

    from harvester.web import serve as serve_web
    from harvester.web.serve import DEFAULT_PORT

    with user_errors():
        app_ = open_app()
        app_.finish_clustering()
        # the emailed links carry base_url's port; listening anywhere else would break them
        port = port or urlsplit(app_.config.settings.web.base_url).port or DEFAULT_PORT
        try:
            serve_web(app_, console, host, port)
        except OSError as exc:
            raise BragError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date like 2026-07-01", param_hint=option) from None


@app.command()
def export(
    quarter: Annotated[str | None, typer.Option(help="a quarter like 2026Q4")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="first day, inclusive (instead of --quarter)")] = None,
    to: Annotated[str | None, typer.Option("--to", help="last day, inclusive (instead of --quarter)")] = None,
    format: Annotated[ExportFormat, typer.Option("--format", help="md, html, pdf or docx")] = ExportFormat.md,
    output: Annotated[Path | None, typer.Option("--output", help="write to this file instead of the terminal")] = None,
) -> None:
    """A summary of a quarter (or any range of days) a manager can read in five minutes."""
    from harvester import bragdoc
    from harvester.export import build, quarter_period, range_period
    from harvester.renderers import render

    if quarter is not None and (from_ is not None or to is not None):
        raise typer.BadParameter("use either --quarter or --from/--to", param_hint="--quarter")
    if quarter is None and (from_ is None or to is None):
        raise typer.BadParameter("give --quarter 2026Q4, or both --from and --to", param_hint="--quarter")
    if format in (ExportFormat.pdf, ExportFormat.docx) and output is None:
        raise typer.BadParameter(f"{format.value} is a binary file: give --output FILE", param_hint="--output")
    try:
        if quarter is not None:
            period = quarter_period(quarter)
        else:
            first, last = _day(from_, "--from"), _day(to, "--to")
            assert first is not None and last is not None
            period = range_period(first, last)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--quarter" if quarter else "--to") from None
    with user_errors():
        app_ = open_app()
        app_.finish_clustering()
        with app_.sessions() as session:
            document = build(bragdoc.entries(session, app_.user_id, app_.zone), period)
        data = render(document, format)
    if output is None:
        sys.stdout.write(data.decode("utf-8"))
        return
    output.write_bytes(data)
    note = f" ({document.overview.missing_impact_note})" if document.overview.missing_impact_note else ""
    console.print(
        f"Wrote {document.overview.total} entries of {escape(period.label)} to {escape(str(output))}{note}",
        soft_wrap=True,
    )


@app.command()
def run() -> None:
    """The long-running service: harvest, digest and quarterly summary at the [schedule] times."""
    from harvester.scheduler import serve

    # a service logs what it does; --verbose adds debug detail
    logging.getLogger().setLevel(min(logging.getLogger().level, logging.INFO))
    with user_errors():
        serve(read_config())


@app.command()
def schedule() -> None:
    """The scheduled jobs, when each runs next (in your timezone) and how its last run ended."""
    from harvester.scheduler import clock, schedule_rows

    with user_errors():
        app_ = open_app()
        rows, disabled = schedule_rows(app_, clock())
    table = Table(title=f"Schedule ({app_.zone})", title_justify="left")
    for column in ("job", "cron", "next run", "last run"):
        table.add_column(column)
    for row in rows:
        upcoming = f"{row.next_run.astimezone(app_.zone):%a %Y-%m-%d %H:%M}" if row.next_run else "never"
        if row.overdue:
            upcoming = f"overdue: runs when `brag run` starts; then {upcoming}"
        table.add_row(row.job, row.cron, upcoming, escape(row.last_run))
    for job, reason in disabled.items():
        table.add_row(job, "off", escape(reason), "")
    console.print(table)


@app.command()
def health() -> None:
    """Exit 0 if the configuration loads and the database answers, 1 otherwise (container healthchecks)."""
    from sqlalchemy import text

    try:
        app_ = open_app()
        with app_.sessions() as session:
            session.execute(text("SELECT 1"))
    except NotConfiguredError as exc:
        # 1, not 2: Docker reserves a healthcheck's exit code 2
        err_console.print(f"not configured: {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except Exception as exc:
        err_console.print(f"unhealthy: {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    console.print("ok")


@app.command()
def init(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="where to write it (default: --config before init, else the user config dir)"),
    ] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA timezone (default: detected)")] = None,
    github_url: Annotated[str | None, typer.Option(help="GitHub API URL; enables GitHub")] = None,
    github_token_env: Annotated[
        str | None, typer.Option(metavar="NAME", help="read the GitHub token from $NAME; enables GitHub")
    ] = None,
    jira_url: Annotated[str | None, typer.Option(help="your Jira site; enables Jira")] = None,
    jira_email: Annotated[str | None, typer.Option(help="Jira Cloud: your account email")] = None,
    jira_token_env: Annotated[str | None, typer.Option(metavar="NAME", help="Jira Cloud: API token in $NAME")] = None,
    jira_pat_env: Annotated[
        str | None, typer.Option(metavar="NAME", help="Jira Server/Data Center: personal access token in $NAME")
    ] = None,
    google_client_secrets: Annotated[
        str | None, typer.Option(metavar="PATH", help="OAuth client JSON; enables Google Calendar")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (default: SQLite in the user data dir)")
    ] = None,
    check: Annotated[bool, typer.Option("--check/--no-check", help="try each source with one request")] = True,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="ask nothing: flags and defaults only (for scripts)")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="replace an existing file")] = False,
) -> None:
    """First run: time zone, sources, tokens (OS keyring or env:), a commented config file, one check per source."""
    from harvester.init_command import InitRequest, run_init

    request = InitRequest(
        timezone=timezone,
        database_url=database_url,
        github_url=github_url,
        github_token_env=github_token_env,
        jira_url=jira_url,
        jira_email=jira_email,
        jira_token_env=jira_token_env,
        jira_pat_env=jira_pat_env,
        google_client_secrets=google_client_secrets,
        check=check,
        yes=yes,
        force=force,
    )
    with user_errors():
        code = run_init(console, request, config or _init_target())
    raise typer.Exit(code)


def _init_target() -> Path | None:
    """The file `brag init` writes when not told: the one other commands would read."""
    from harvester.config import find_config_path

    path, chosen = find_config_path(state.config_path)
    return path if chosen else None


@app.command()
def demo(
    serve: Annotated[
        bool, typer.Option("--serve", help="afterwards, keep the review page running on the demo database")
    ] = False,
) -> None:
    """Run the whole product against local sandbox servers, offline; keeps its data and a config for it."""
    from harvester.demo import run_demo

    with user_errors():
        code = run_demo(console, serve=serve)
    raise typer.Exit(code)


auth_app = typer.Typer(help="Authorize Brag Harvester to read a source (OAuth).", no_args_is_help=True)
app.add_typer(auth_app, name="auth")


@auth_app.command("google")
def auth_google(
    client_secrets: Annotated[
        Path | None,
        typer.Option(
            "--client-secrets", help="OAuth client JSON (default: client_secrets_file of the google_calendar section)"
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="local port for Google's redirect (0: any free port)")] = 0,
    browser: Annotated[bool, typer.Option("--browser/--no-browser", help="open the browser automatically")] = True,
) -> None:
    """Sign in with Google (read-only calendar access) and save the token for harvesting."""
    from connectors.google_calendar.auth import authorize
    from harvester.config import GoogleCalendarSettings

    with user_errors():
        section = read_config(missing_ok=True).settings.google_calendar or GoogleCalendarSettings()
        secrets = client_secrets or section.client_secrets_file
        if secrets is None:
            raise ConfigError(
                "client_secrets_file is required for `brag auth google` (or pass --client-secrets PATH)",
                key="google_calendar",
            )
        token_file = section.resolved_token_file()
        authorize(secrets, token_file, port=port, open_browser=browser)
    console.print(f"Authorized: read-only calendar access; token saved to {escape(str(token_file))} (owner-only)")


def main() -> None:
    app()
