"""The modules other code and plugins build on say what they offer, and offer what they say."""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType

import pytest

PUBLIC_MODULES = [
    "harvester.records",
    "harvester.errors",
    "harvester.config",
    "harvester.timeutil",
    "harvester.sources",
    "harvester.sources.discovery",
    "connectors.github",
    "connectors.jira",
    "connectors.google_calendar",
]


def defined_here(module: ModuleType) -> set[str]:
    """Public classes and functions the module itself defines (not ones it imports)."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == module.__name__
    }


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_names_only_what_exists_once_and_in_order(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), not n[:1].isupper(), n))
    missing = [item for item in exported if not hasattr(module, item)]
    assert missing == [], f"{name}.__all__ names what it does not have: {missing}"


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_public_class_and_function_is_exported(name: str) -> None:
    module = importlib.import_module(name)
    assert defined_here(module) - set(module.__all__) == set()
