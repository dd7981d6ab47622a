"""A configuration wired to every sandbox and a real SMTP server, for the tests of the real jobs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from connectors.github.sandbox import DEFAULT_TOKEN, GitHubSandbox
from connectors.google_calendar.sandbox import GoogleCalendarSandbox
from connectors.jira.sandbox import DEFAULT_API_TOKEN, JiraSandbox
from harvester.sandbox.scenario import Scenario
from harvester.sandbox.smtp import SmtpSink


@dataclass
class World:
    config: Path
    github: GitHubSandbox
    jira: JiraSandbox
    calendar: GoogleCalendarSandbox
    smtp: SmtpSink


@contextmanager
def sandboxed_world(tmp_path: Path, database_url: str, *, smtp: SmtpSink | None = None) -> Iterator[World]:
    """Sandboxes serving two weeks up to the real now (`brag run` reads the real clock), and a config for them."""
    scenario = Scenario.generate(weeks=2)
    with ExitStack() as stack:
        github = stack.enter_context(GitHubSandbox(scenario))
        calendar = stack.enter_context(GoogleCalendarSandbox(scenario))
        jira = stack.enter_context(JiraSandbox(scenario, time_zone="Europe/Berlin"))
        sink = stack.enter_context(smtp or SmtpSink())
        token_file = tmp_path / "google-token.json"
        token_file.write_text(json.dumps(calendar.authorized_user_info()))
        os.chmod(token_file, 0o600)
        config = tmp_path / "brag.toml"
        config.write_text(
            f'[database]\nurl = "{database_url}"\n'
            '[user]\ntimezone = "Europe/Berlin"\n'
            f'[github]\ntoken = "{DEFAULT_TOKEN}"\nbase_url = "{github.base_url}"\n'
            f'[jira]\nserver = "{jira.base_url}"\nemail = "{scenario.email}"\ntoken = "{DEFAULT_API_TOKEN}"\n'
            f'[google_calendar]\ntoken_file = "{token_file}"\napi_endpoint = "{calendar.calendar_url()}"\n'
            f'[email]\nto = "me@acme.com"\nfrom = "brag@acme.com"\nsmtp_host = "127.0.0.1"\n'
            f'smtp_port = {sink.port}\nsmtp_security = "none"\n'
            f'[schedule]\nexports_dir = "{tmp_path / "exports"}"\n'
        )
        yield World(config, github, jira, calendar, sink)
