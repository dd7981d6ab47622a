"""The review web page: the week's candidates, email-link confirmations and the brag doc.

Names load on first use, so code that only signs review links (`harvester.web.tokens`) does not
import Flask.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harvester.web.app import create_app
    from harvester.web.server import ReviewServer, serve

__all__ = ["ReviewServer", "create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from harvester.web.app import create_app

        return create_app
    if name in ("ReviewServer", "serve"):
        from harvester.web import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
