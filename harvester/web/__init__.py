"""The review web page: the week's candidates, email-link confirmations and the brag doc."""

from harvester.web.app import create_app
from harvester.web.server import ReviewServer, serve

__all__ = ["ReviewServer", "create_app", "serve"]
