"""`brag init`: a guided first run that writes a commented configuration and checks each source.

Interactive by default (prompts with the detected or given answers as defaults); `--yes` takes
the flags and defaults without asking, for scripts. Tokens go to the OS keyring when there is
one, else the file names an environment variable: a secret is never written into the file.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
import typer
from jinja2 import Environment, PackageLoader, StrictUndefined
from rich.console import Console
from rich.markup import escape

from harvester.config import APP_NAME, default_config_path, load_config, parse_settings
from harvester.errors import ConfigError
from harvester.secrets import KEYRING_SERVICE, NO_KEYRING_FIX
from harvester.sources.checks import CheckResult, check_sources
from harvester.timeutil import system_timezone

GITHUB_URL = "https://api.github.com"
# documented: Jira Cloud sites live under these domains; anything else is Server/Data Center
CLOUD_HOST_SUFFIXES = (".atlassian.net", ".jira.com")
DEFAULT_CLIENT_SECRETS = "~/Downloads/client_secret.json"
FIRST_HARVEST = timedelta(weeks=4)


@dataclass(frozen=True)
class GitHubChoice:
    token: str
    base_url: str | None = None


@dataclass(frozen=True)
class JiraChoice:
    server: str
    email: str | None = None
    token: str | None = None
    pat: str | None = None


@dataclass(frozen=True)
class GoogleChoice:
    client_secrets_file: str
    token_file: str | None = None
    api_endpoint: str | None = None


@dataclass(frozen=True)
class ConfigChoices:
    """What goes into a written configuration file; secrets only as env:/keyring: references."""

    timezone: str
    database_url: str | None = None
    github: GitHubChoice | None = None
    jira: JiraChoice | None = None
    google_calendar: GoogleChoice | None = None
    web_base_url: str | None = None
    notes: tuple[str, ...] = ()
    written_by: str = "brag init"


@dataclass(frozen=True)
class InitRequest:
    """`brag init`'s flags; None means "ask" (interactive) or "not wanted" (--yes)."""

    timezone: str | None = None
    database_url: str | None = None
    github_url: str | None = None
    github_token_env: str | None = None
    jira_url: str | None = None
    jira_email: str | None = None
    jira_token_env: str | None = None
    jira_pat_env: str | None = None
    google_client_secrets: str | None = None
    check: bool = True
    yes: bool = False
    force: bool = False


def _toml_string(value: str) -> str:
    # a JSON string is a TOML basic string, except that TOML also forbids a raw DEL
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


_templates = Environment(
    loader=PackageLoader("harvester", "templates"),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # TOML, not HTML: every value goes through the toml filter
)
_templates.filters["toml"] = _toml_string


def render_config(choices: ConfigChoices) -> str:
    """The commented TOML for `choices`; `load_config` reads it back to the same settings."""
    default_database = Path(platformdirs.user_data_dir(APP_NAME)) / "brag.db"
    return _templates.get_template("brag.toml.j2").render(
        **{name: getattr(choices, name) for name in ConfigChoices.__dataclass_fields__},
        default_database=default_database,
    )


def write_config(path: Path, text: str) -> None:
    """Write the file whole or not at all, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def run_init(console: Console, request: InitRequest, path: Path | None) -> int:
    """Ask, write, check; returns the exit code (1 when a source check failed; the file is kept)."""
    target = (path or default_config_path()).expanduser()
    if (
        target.exists()
        and not request.force
        and (request.yes or not typer.confirm(f"{target} exists. Replace it?", default=False))
    ):
        raise ConfigError("already exists; pass --force to replace it, or edit it", path=target)
    asker = _Asker(console, request)
    choices = asker.choices()
    text = render_config(choices)
    # a flag `brag` would refuse (a mistyped --database-url) stops here, before any file is written
    parse_settings(tomllib.loads(text), target)
    write_config(target, text)
    # the real loader proves the file is what `brag` will read
    settings = load_config(target).settings
    console.print(f"Wrote {escape(str(target))}", soft_wrap=True, highlight=False)
    code = 0
    if request.check:
        results = check_sources(settings)
        for result in results:
            _print_check(console, result, choices)
        if any(not r.ok and not _awaiting_google_auth(r, choices) for r in results):
            code = 1
            console.print(f"Fix the failing source in {escape(str(target))}, then run the next command.")
    console.print(f"Next: {_next_command(target, path, choices)}", soft_wrap=True, highlight=False)
    return code


def _awaiting_google_auth(result: CheckResult, choices: ConfigChoices) -> bool:
    """A calendar that has not been authorized yet is the next step, not a failure."""
    if result.source != "google_calendar" or choices.google_calendar is None:
        return False
    from connectors.google_calendar.auth import default_token_file

    token_file = choices.google_calendar.token_file
    return not Path(token_file or default_token_file()).expanduser().exists()


def _print_check(console: Console, result: CheckResult, choices: ConfigChoices) -> None:
    if result.ok:
        console.print(f"  [green]{result.source}: ok[/] — {escape(result.detail)}", highlight=False)
    elif _awaiting_google_auth(result, choices):
        console.print(f"  [yellow]{result.source}: not authorized yet[/] — run `brag auth google`", highlight=False)
    else:
        console.print(f"  [red]{result.source}: failed[/] — {escape(result.detail)}", highlight=False, soft_wrap=True)
        if result.fix:
            console.print(f"    [yellow]fix:[/] {escape(result.fix)}", highlight=False, soft_wrap=True)


def _next_command(target: Path, explicit: Path | None, choices: ConfigChoices) -> str:
    prefix = f"brag --config {target}" if explicit is not None else "brag"
    if choices.google_calendar is not None and choices.google_calendar.token_file is None:
        return f"{prefix} auth google, then {prefix} harvest --since {_first_harvest_start()}"
    if choices.github or choices.jira or choices.google_calendar:
        return f"{prefix} harvest --since {_first_harvest_start()}"
    return f"add a source to {target} (see config/brag.example.toml), then {prefix} harvest"


def _first_harvest_start() -> str:
    from datetime import datetime

    return f"{datetime.now(system_timezone()) - FIRST_HARVEST:%Y-%m-%d}"


def detected_timezone() -> str:
    return getattr(system_timezone(), "key", None) or "UTC"


def _valid_zone(value: str) -> str:
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(f"{value!r} is not an IANA timezone name like Europe/Berlin") from None
    return value.strip()


def _http_url(value: str) -> str:
    if not value.strip().startswith(("http://", "https://")):
        raise typer.BadParameter(f"{value!r} is not an http(s) URL")
    return value.strip().rstrip("/")


def _one_of(*answers: str) -> Callable[[str], str]:
    def pick(value: str) -> str:
        if value.strip().lower() not in answers:
            raise typer.BadParameter(f"answer {' or '.join(answers)}")
        return value.strip().lower()

    return pick


def is_cloud(server: str) -> bool:
    return (urlsplit(server).hostname or "").endswith(CLOUD_HOST_SUFFIXES)


class _Asker:
    """Answers from the flags first, then from the user unless --yes."""

    def __init__(self, console: Console, request: InitRequest) -> None:
        self.console = console
        self.request = request

    def choices(self) -> ConfigChoices:
        request = self.request
        timezone = request.timezone or (
            detected_timezone()
            if request.yes
            else typer.prompt("Your timezone", default=detected_timezone(), value_proc=_valid_zone)
        )
        return ConfigChoices(
            timezone=_valid_zone(timezone),
            database_url=request.database_url,
            github=self._github(),
            jira=self._jira(),
            google_calendar=self._google(),
        )

    def _wanted(self, question: str, flags: tuple[str | None, ...], default: bool) -> bool:
        if any(flag is not None for flag in flags):
            return True
        return False if self.request.yes else typer.confirm(question, default=default)

    def _github(self) -> GitHubChoice | None:
        request = self.request
        if not self._wanted(
            "Harvest GitHub (your merged pull requests and reviews)?",
            (request.github_url, request.github_token_env),
            True,
        ):
            return None
        base_url = request.github_url or (
            GITHUB_URL
            if request.yes
            else typer.prompt(
                "GitHub API URL (Enterprise: https://HOST/api/v3)", default=GITHUB_URL, value_proc=_http_url
            )
        )
        token = self._secret("GitHub token", "github.token", request.github_token_env, "GITHUB_TOKEN")
        return GitHubChoice(token=token, base_url=None if base_url == GITHUB_URL else _http_url(base_url))

    def _jira(self) -> JiraChoice | None:
        request = self.request
        flags = (request.jira_url, request.jira_email, request.jira_token_env, request.jira_pat_env)
        if not self._wanted("Harvest Jira (the tickets you finished)?", flags, False):
            return None
        server = request.jira_url or self._ask("Jira address, e.g. https://acme.atlassian.net", None, _http_url)
        server = _http_url(server)
        if self._server_deployment(server):
            pat = self._secret(
                "Jira personal access token (Server/Data Center)", "jira.pat", request.jira_pat_env, "JIRA_PAT"
            )
            return JiraChoice(server=server, pat=pat)
        email = request.jira_email or self._ask("Your Jira account email", None, None)
        token = self._secret("Jira API token", "jira.token", request.jira_token_env, "JIRA_API_TOKEN")
        return JiraChoice(server=server, email=email, token=token)

    def _server_deployment(self, server: str) -> bool:
        """Whether to ask for a personal access token (Server/Data Center) rather than email + API token."""
        request = self.request
        if request.jira_pat_env is not None:
            return True
        if request.jira_email is not None or request.jira_token_env is not None or request.yes:
            return request.jira_email is None and request.jira_token_env is None and not is_cloud(server)
        kind = typer.prompt(
            "Jira Cloud (email + API token) or Server/Data Center (personal access token)? (cloud, server)",
            default="cloud" if is_cloud(server) else "server",
            value_proc=_one_of("cloud", "server"),
        )
        return bool(kind == "server")

    def _google(self) -> GoogleChoice | None:
        request = self.request
        if not self._wanted("Harvest Google Calendar (your meetings)?", (request.google_client_secrets,), False):
            return None
        secrets = request.google_client_secrets or self._ask(
            "OAuth client JSON (type 'Desktop app', from the Google Cloud console)", DEFAULT_CLIENT_SECRETS, None
        )
        return GoogleChoice(client_secrets_file=secrets)

    def _ask(self, question: str, default: str | None, check: Callable[[str], str] | None) -> str:
        if self.request.yes:
            if default is None:
                raise typer.BadParameter(f"--yes needs an answer for: {question}")
            return default
        answer: str = typer.prompt(question, default=default, value_proc=check)
        return answer

    def _secret(self, label: str, key: str, env_flag: str | None, env_default: str) -> str:
        """The reference to write: env:NAME from the flag, or the keyring after a hidden prompt."""
        if env_flag is not None:
            return f"env:{env_flag}"
        if self.request.yes:
            return f"env:{env_default}"
        usable = keyring_usable()
        where = typer.prompt(
            f"Keep the {label} in the OS keyring, or read it from an environment variable? (keyring, env)",
            default="keyring" if usable else "env",
            value_proc=_one_of("keyring", "env"),
        )
        if where == "keyring":
            value = typer.prompt(label, hide_input=True)
            if self._store(key, value):
                return "keyring:"
        name = typer.prompt("Environment variable that will hold it", default=env_default)
        if not os.environ.get(name):
            self.console.print(f"  (set {escape(name)} before harvesting; it is not set now)", highlight=False)
        return f"env:{name}"

    def _store(self, key: str, value: str) -> bool:
        import keyring
        import keyring.errors

        try:
            keyring.set_password(KEYRING_SERVICE, key, value)
        except keyring.errors.KeyringError as exc:
            self.console.print(
                f"  [yellow]cannot store it in the OS keyring ({type(exc).__name__})[/]: {escape(NO_KEYRING_FIX)}",
                soft_wrap=True,
                highlight=False,
            )
            return False
        self.console.print(f"  stored in the OS keyring (service {KEYRING_SERVICE!r}, user {key!r})", highlight=False)
        return True


def keyring_usable() -> bool:
    import keyring
    from keyring.backends import fail

    return not isinstance(keyring.get_keyring(), fail.Keyring)
