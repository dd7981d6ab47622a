"""The one rule for how long a connector waits before retrying: the server's word, within the user's bound."""

from __future__ import annotations

from harvester.errors import RateLimitError


def retry_wait(
    requested: float | None,
    attempt: int,
    *,
    source: str,
    service: str,
    max_wait: float,
    backoff_factor: float,
) -> float:
    """Seconds to sleep before retry number `attempt` (0-based).

    A `Retry-After` the server sent (`requested`) is honoured exactly, unless it is longer than
    `[<source>] max_rate_limit_wait`, which ends the harvest of this source with a clear error
    (the next harvest resumes from its cursor); without one, exponential backoff within the bound.
    """
    if requested is None:
        return float(min(max_wait, backoff_factor * 2**attempt))
    if requested > max_wait:
        raise RateLimitError(
            source,
            f"rate limited; {service} asks to wait {requested:.0f} s, more than the "
            f"{max_wait:.0f} s allowed by [{source}] max_rate_limit_wait",
            wait_seconds=requested,
        )
    return requested
