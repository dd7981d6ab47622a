"""Queueing one tick's work: a job per user, never twice, never two at once for one user."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued


@dataclass(frozen=True)
class Deferred:
    queued: int
    already_queued: int


def user_lock(user_id: int) -> str:
    """Held by a running job: a user's jobs run one after another, whichever workers take them."""
    return f"user:{user_id}"


def queueing_lock(job: str, user_id: int, period: str) -> str:
    """Held while the job waits: a second tick (or scheduler) cannot queue the same work again."""
    return f"{job}:{user_id}:{period}"


def defer_for_users(app: procrastinate.App, job: str, period: str, user_ids: Iterable[int]) -> Deferred:
    task = app.tasks[f"brag:{job}"]
    queued = already = 0
    for user_id in user_ids:
        configured = task.configure(lock=user_lock(user_id), queueing_lock=queueing_lock(job, user_id, period))
        try:
            configured.defer(user_id=user_id, period=period)
        except AlreadyEnqueued:
            already += 1
        else:
            queued += 1
    return Deferred(queued, already)
