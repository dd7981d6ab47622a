"""The TOML configuration: where it is found, what it may contain, and its errors.

Unknown keys are errors (a typo must not silently disable a setting), and every error names
the file, the key and what was expected.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import tzinfo
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from harvester.errors import ConfigError
from harvester.secrets import Secret
from harvester.timeutil import system_timezone

APP_NAME = "brag-harvester"
CONFIG_ENV = "BRAG_CONFIG"
CONFIG_FILENAME = "brag.toml"


def _to_secret(value: Any) -> Secret:
    if isinstance(value, Secret):
        return value
    # a string only: pydantic would otherwise build the Secret dataclass from a TOML table
    if not isinstance(value, str):
        raise ValueError('expected a string: the secret itself, "env:NAME", "file:PATH" or "keyring:"')
    if not value:
        raise ValueError("must not be empty")
    return Secret(value)


SecretSetting = Annotated[Secret, BeforeValidator(_to_secret)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class DatabaseSettings(Section):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: brag.db in the platform's user data dir",
    )

    @field_validator("url")
    @classmethod
    def _known_dialect(cls, value: str | None) -> str | None:
        # env:NAME keeps a password-bearing URL out of the file (containers pass it in the environment)
        if value is not None and not value.startswith(("sqlite:", "postgresql", "env:")):
            raise ValueError("expected sqlite:///PATH, postgresql+psycopg://USER@HOST/DB or env:NAME")
        return value


class UserSettings(Section):
    name: str = Field(default="me", description="the user's name in the store (team mode: one per user)")
    timezone: str | None = Field(default=None, description="IANA timezone name; default: the system's")

    @field_validator("timezone")
    @classmethod
    def _iana(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError("expected an IANA timezone name like Europe/Berlin") from None
        return value

    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone) if self.timezone else system_timezone()


class NlpSettings(Section):
    model: str | None = Field(default="en_core_web_sm", description="spaCy pipeline; blank English if absent")


def _one_line(value: str) -> str:
    # addresses end up in headers; a line break there would let the file add headers
    if any(ch in value for ch in "\r\n\0"):
        raise ValueError("must be on one line")
    return value


class EmailSettings(Section):
    """Where the weekly digest goes and through which SMTP server; the section's presence enables email."""

    model_config = ConfigDict(populate_by_name=True)

    to: str = Field(description="recipient address")
    from_: str = Field(alias="from", description='sender, e.g. "Brag Harvester <brag@acme.com>"')
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, gt=0, lt=65536)
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_user: str | None = None
    smtp_password: SecretSetting | None = None
    max_items: int = Field(default=7, ge=1, description="how many of the week's candidates the digest lists")

    @field_validator("to", "from_")
    @classmethod
    def _address(cls, value: str) -> str:
        if "@" not in _one_line(value):
            raise ValueError("expected an email address like me@acme.com or Name <me@acme.com>")
        return value.strip()


class WebSettings(Section):
    base_url: str = Field(default="http://127.0.0.1:8765", description="where review links in the email point")

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not _one_line(value).startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as http://127.0.0.1:8765")
        return value.rstrip("/")


OFF = "off"


def _cron(value: str) -> str:
    if value.strip().lower() == OFF:
        return OFF
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value)
    except ValueError as exc:
        raise ValueError(f'expected a cron expression like "0 18 * * *", or "off" ({exc})') from None
    return " ".join(value.split())


class ScheduleSettings(Section):
    """When `brag run` does each job: cron expressions (minute hour day month weekday) in [user].timezone."""

    harvest: str = Field(default="0 18 * * *", description='harvest every source; "off" disables')
    digest: str = Field(default="0 16 * * fri", description="email the week's digest (needs [email])")
    quarterly: str = Field(default="0 9 * * fri", description="the quarter's summary; acts only in its last week")
    exports_dir: Path | None = Field(default=None, description="where the quarterly summary is written")

    _check_cron = field_validator("harvest", "digest", "quarterly")(_cron)

    def resolved_exports_dir(self) -> Path:
        return (self.exports_dir or Path(platformdirs.user_data_dir(APP_NAME)) / "exports").expanduser()


class OAuthAppSettings(Section):
    """The OAuth app this service is registered as at one source (team mode's "connect" buttons)."""

    client_id: str = Field(description="the app's client id at the source")
    client_secret: SecretSetting = Field(description="its client secret: env:NAME, file:PATH or keyring:")
    base_url: str | None = Field(
        default=None,
        description="the source's web address when it is not the public service (GitHub Enterprise Server, a sandbox)",
    )

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not _one_line(value).startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as https://github.acme.com")
        return value.rstrip("/") if value else value


class TeamSettings(Section):
    """Team mode: one service for a whole organisation, on PostgreSQL (docs/team.md).

    Absent, Brag Harvester is the single-user tool it always was. Present, people sign in over
    OpenID Connect (or with GitHub where the company has no OIDC provider), connect their own
    accounts, and every grant is stored encrypted with `encryption_key`.
    """

    oidc_issuer: str | None = Field(
        default=None,
        description="the OpenID Connect provider's issuer URL (discovery at /.well-known/openid-configuration)",
    )
    oidc_client_id: str | None = Field(default=None, description="this service's client id at the provider")
    oidc_client_secret: SecretSetting | None = Field(
        default=None, description="its client secret: env:NAME, file:PATH or keyring:"
    )
    github_sign_in: bool = Field(
        default=False, description="sign in with GitHub as the identity, where the company has no OIDC provider"
    )
    encryption_key: SecretSetting = Field(
        description="Fernet key(s) for stored grants, newest first, comma-separated: env:NAME, file:PATH or keyring:"
    )
    # one OAuth app per source people connect: [team.github], [team.jira], [team.google_calendar]
    github: OAuthAppSettings | None = None
    jira: OAuthAppSettings | None = None
    google_calendar: OAuthAppSettings | None = None

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer(cls, value: str | None) -> str | None:
        if value is not None and not _one_line(value).startswith(("https://", "http://")):
            raise ValueError("expected the provider's issuer URL, such as https://login.acme.com")
        return value.rstrip("/") if value else value


class Settings(BaseSettings):
    """The whole configuration file; a source is enabled by its section being present.

    The core sections are fields here; each source's section is validated by the settings model
    its plugin declares (harvester/sources/discovery.py) and is found in `sources`.
    """

    model_config = SettingsConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    database: DatabaseSettings = DatabaseSettings()
    user: UserSettings = UserSettings()
    nlp: NlpSettings = NlpSettings()
    email: EmailSettings | None = None
    web: WebSettings = WebSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    team: TeamSettings | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the file is the single source of truth; no surprise overrides from the environment
        return (init_settings,)

    _sources: dict[str, BaseModel] = PrivateAttr(default_factory=dict)

    @property
    def sources(self) -> Mapping[str, BaseModel]:
        """The configured sources' sections by name, each an instance of its plugin's settings model."""
        return MappingProxyType(self._sources)

    def source(self, name: str) -> Any:
        """The `[name]` section as its source's settings model, or None when it is absent."""
        return self._sources.get(name)


class LoadedConfig(BaseModel):
    """Settings plus where they came from, so later errors can name the file."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    settings: Settings
    path: Path | None

    def database_url(self) -> str:
        url = self.settings.database.url
        if url and url.startswith("env:"):
            url = Secret(url, key="database.url").reveal()
        if url:
            return url
        data_dir = Path(platformdirs.user_data_dir(APP_NAME))
        return f"sqlite:///{data_dir / 'brag.db'}"


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / CONFIG_FILENAME


def find_config_path(explicit: Path | None) -> tuple[Path, bool]:
    """The file to read and whether the user asked for it (then it must exist)."""
    if explicit is not None:
        return explicit.expanduser(), True
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env).expanduser(), True
    return default_config_path(), False


class NotConfiguredError(ConfigError):
    """No configuration file where `brag` looked: nothing has been set up yet."""


def load_config(explicit: Path | None = None, *, missing_ok: bool = False) -> LoadedConfig:
    """The configuration; with `missing_ok`, the defaults when no file was asked for and none exists.

    Only commands that need nothing from the file (`brag cluster`) take the defaults: any other
    command on defaults would report an empty store, or create one, as if all were well.
    """
    path, required = find_config_path(explicit)
    if not path.exists():
        if required:
            raise ConfigError(f"configuration file not found; create it with: brag --config {path} init", path=path)
        if not missing_ok:
            raise NotConfiguredError(
                f"no configuration file here (and no --config or ${CONFIG_ENV}); "
                "create it with `brag init`, or try the product on sample data with `brag demo`",
                path=path,
            )
        return LoadedConfig(settings=Settings(), path=None)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"is not valid TOML: {exc}", path=path) from None
    except UnicodeDecodeError as exc:
        # TOML files are UTF-8 by definition (toml.io spec); say where the first bad byte is
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(f"is not UTF-8 text (line {line} is not); save it as UTF-8", path=path) from None
    except OSError as exc:
        raise ConfigError(f"cannot be read: {exc.strerror}", path=path) from None
    return LoadedConfig(settings=parse_settings(data, path), path=path)


def parse_settings(data: dict[str, Any], path: Path | None = None) -> Settings:
    """Validate the file's tables: core sections here, each source's with its plugin's model."""
    models = source_models()
    problems: list[str] = []
    settings = Settings()
    try:
        settings = Settings(**{name: value for name, value in data.items() if name not in models})
    except ValidationError as exc:
        problems += _problems(exc, ())
    sections: dict[str, BaseModel] = {}
    for name, value in data.items():
        if name not in models:
            continue
        try:
            sections[name] = models[name].model_validate(value)
        except ValidationError as exc:
            problems += _problems(exc, (name,))
    if problems:
        raise ConfigError(f"invalid configuration: {'; '.join(problems)}", path=path, key=None)
    settings._sources = sections
    _name_secrets(settings)
    return settings


def source_models() -> dict[str, type[BaseModel]]:
    """The settings model of every installed source, by the section it owns."""
    from harvester.sources.discovery import available_sources

    return {name: plugin.settings for name, plugin in available_sources().items()}


def _name_secrets(settings: Settings) -> None:
    """Give each Secret its dotted key, so its errors and keyring entry can name it."""
    sections = {name: getattr(settings, name) for name in type(settings).model_fields}
    for section_name, section in {**sections, **settings.sources}.items():
        if not isinstance(section, BaseModel):
            continue
        for key in type(section).model_fields:
            value = getattr(section, key)
            if isinstance(value, Secret) and not value.key:
                object.__setattr__(value, "key", f"{section_name}.{key}")


_EXPECTATIONS = {
    "extra_forbidden": "unknown key (check the spelling against config/brag.example.toml)",
    "missing": "required key is missing",
    "model_type": "expected a section (a TOML table of keys)",
}
# scheme://user:PASSWORD@host: the password runs to the last @ (an unencoded @ in it is common)
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/:@\s]*:)\S*@")


def _problems(exc: ValidationError, prefix: tuple[str, ...]) -> list[str]:
    """One "key: what was expected" per error; `prefix` is the section a source's model validated."""
    problems = []
    for error in exc.errors():
        location = [*prefix, *(str(part) for part in error["loc"])]
        message = _EXPECTATIONS.get(error["type"]) or error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message += _did_you_mean(location)
        elif error["type"] not in _EXPECTATIONS and not _holds_secret(_annotation_at(location)):
            message += f" (got {_without_passwords(error.get('input'))!r})"
        problems.append(f"{_toml_key(location)}: {message}")
    return problems


def _annotation_at(location: list[str]) -> Any:
    """The declared type of the setting at `location` (a section, or a key in it); None if unknown."""
    if not location:
        return Settings
    annotation: Any = source_models().get(location[0])
    # a source's section is its own model; a core one is a field of Settings
    keys = location[1:2] if annotation is not None else location[:2]
    annotation = annotation or Settings
    for part in keys:
        fields = _model_fields(annotation)
        if part not in fields:
            return None
        annotation = fields[part].annotation
    return annotation


def _model_fields(annotation: Any) -> dict[str, FieldInfo]:
    """Fields of the model in `annotation` (unwrapping `X | None`), by the name the file uses."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return {info.alias or name: info for name, info in candidate.model_fields.items()}
    return {}


def _holds_secret(annotation: Any) -> bool:
    """Whether a value of this type is, or contains, a Secret: its input is never echoed."""
    if annotation is None:
        return False
    if annotation is Secret:
        return True
    if any(_holds_secret(arg) for arg in get_args(annotation)):
        return True
    return any(_holds_secret(info.annotation) for info in _model_fields(annotation).values())


def _without_passwords(value: Any) -> Any:
    if isinstance(value, str):
        return _URL_PASSWORD.sub(r"\1***@", value)
    if isinstance(value, list | tuple):
        return [_without_passwords(item) for item in value]
    if isinstance(value, dict):
        return {key: _without_passwords(item) for key, item in value.items()}
    return value


def _did_you_mean(location: list[str]) -> str:
    if len(location) > 1:
        known = list(_model_fields(_annotation_at(location[:-1])))
    else:
        known = [*_model_fields(Settings), *source_models()]
    close = difflib.get_close_matches(location[-1], known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _toml_key(location: list[str]) -> str:
    if len(location) == 1:
        return location[0]
    return f"[{location[0]}] {'.'.join(location[1:])}"


__all__ = [
    "DatabaseSettings",
    "EmailSettings",
    "LoadedConfig",
    "NlpSettings",
    "NotConfiguredError",
    "OAuthAppSettings",
    "ScheduleSettings",
    "SecretSetting",
    "Section",
    "Settings",
    "TeamSettings",
    "UserSettings",
    "WebSettings",
    "default_config_path",
    "find_config_path",
    "load_config",
    "parse_settings",
    "source_models",
]
