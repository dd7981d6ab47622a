"""How the built-in and third-party sources are found, and how a configured one becomes a connector.

A source is published as an entry point in the `brag_harvester.sources` group naming a
`SourcePlugin`: the section name it owns in brag.toml, its pydantic settings model, and where its
connector class is. Finding the sources imports only their settings modules; a connector (and its
client library) is imported when a command actually harvests from it.
"""

from __future__ import annotations

import logging
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from harvester.errors import ConfigError

if TYPE_CHECKING:
    from harvester.config import Settings
    from harvester.sources import Connector

__all__ = [
    "ENTRY_POINT_GROUP",
    "ConnectorFactory",
    "SourcePlugin",
    "available_sources",
    "builtin_sources",
    "configured_connectors",
]

ENTRY_POINT_GROUP = "brag_harvester.sources"
log = logging.getLogger(__name__)


class ConnectorFactory(Protocol):
    @classmethod
    def from_settings(cls, section: Any) -> Connector:
        """The connector for a validated settings section (an instance of the plugin's `settings`)."""
        ...


@dataclass(frozen=True)
class SourcePlugin:
    """What a source declares to the core; cheap to import (no client library)."""

    # the brag.toml section it owns, and the `source` of its records
    name: str
    # validates that section: unknown keys are errors, like every core section
    settings: type[BaseModel]
    # "module:Class" of its connector, imported only to harvest
    connector: str
    # "module:function" of `brag init`'s check: one request with the section, returning what it reached
    check: str = ""

    def connector_factory(self) -> ConnectorFactory:
        factory: ConnectorFactory = _load(self.connector)
        return factory

    def connect(self, section: BaseModel) -> Connector:
        return self.connector_factory().from_settings(section)

    def first_contact(self) -> Callable[[Any], str]:
        check: Callable[[Any], str] = _load(self.check)
        return check


def builtin_sources() -> dict[str, str]:
    """The packages under `connectors/`, for a source tree that was never installed (no entry points)."""
    import connectors

    return {module.name: f"connectors.{module.name}:SOURCE" for module in pkgutil.iter_modules(connectors.__path__)}


def _load(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(import_module(module), attribute)


@cache
def available_sources() -> Mapping[str, SourcePlugin]:
    """Every installed source by section name; one that cannot be loaded is logged and left out."""
    found: dict[str, SourcePlugin] = {}
    targets = {entry.name: entry.value for entry in entry_points(group=ENTRY_POINT_GROUP)} or builtin_sources()
    for name, target in sorted(targets.items()):
        try:
            plugin = _load(target)
        except Exception as exc:  # a broken plugin must not stop the others
            log.warning("source %s (%s) cannot be loaded: %s", name, target, exc)
            continue
        if not isinstance(plugin, SourcePlugin) or plugin.name != name:
            log.warning("source %s (%s) is not a SourcePlugin named %r; left out", name, target, name)
            continue
        found[name] = plugin
    return found


def configured_connectors(settings: Settings, only: str | None = None) -> list[Connector]:
    """The connectors of the sources with a section in the configuration, by name."""
    connectors = []
    for name, section in sorted(settings.sources.items()):
        if only is not None and name != only:
            continue
        plugin = available_sources().get(name)
        if plugin is None:
            raise ConfigError(f"no installed source reads the [{name}] section", key=name)
        connectors.append(plugin.connect(section))
    return connectors
