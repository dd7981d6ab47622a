"""One cheap request per configured source, to tell a new user at once whether its settings work.

`brag init` runs these after writing the file. Each source's check (its plugin's `check`) makes a
single attempt (a first run should fail in seconds, not after the harvest's retries) and lets the
connector's own classifier turn a refusal into the same message and fix a harvest would give.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from harvester.errors import BragError, SourceError, TransientError
from harvester.sources.discovery import available_sources

if TYPE_CHECKING:
    from harvester.config import Settings

CHECK_TIMEOUT = 15
UNREACHABLE_FIX = "check the address in [{source}] and your network or proxy, then try `brag harvest`"


@dataclass(frozen=True)
class CheckResult:
    source: str
    ok: bool
    detail: str
    fix: str = ""


def check_sources(settings: Settings) -> list[CheckResult]:
    """Check every source the settings enable, in name order; a failing one does not stop the others."""
    results = []
    plugins = available_sources()
    for source, section in sorted(settings.sources.items()):
        plugin = plugins.get(source)
        if plugin is None or not plugin.check:
            continue
        try:
            detail = plugin.first_contact()(section)
        except TransientError as exc:
            # the harvest's "usually temporary" fix does not fit a first contact, which is more often a wrong address
            results.append(CheckResult(source, False, exc.detail, UNREACHABLE_FIX.format(source=source)))
        except SourceError as exc:
            results.append(CheckResult(source, False, exc.detail, exc.fix))
        except BragError as exc:
            results.append(CheckResult(source, False, str(exc)))
        else:
            results.append(CheckResult(source, True, detail))
    return results
