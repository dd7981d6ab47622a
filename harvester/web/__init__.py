"""The review web page: the week's candidates, email-link confirmations and the brag doc."""

from harvester.web.serve import ReviewServer, serve
from harvester.web.server import create_app

__all__ = ["ReviewServer", "create_app", "serve"]
