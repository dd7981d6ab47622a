"""`brag worker`: runs the team service's queued jobs (harvester/queue)."""

from __future__ import annotations

import asyncio
import os
import socket
from typing import TYPE_CHECKING, Annotated

import typer

from harvester.cli.common import open_context

if TYPE_CHECKING:
    import procrastinate

    from harvester.context import Context


def worker(
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="jobs run at once, each on a thread (the sources are I/O-bound)")
    ] = 4,
    stalled_after: Annotated[
        float,
        typer.Option(
            "--stalled-after", min=1.0, help="seconds without a heartbeat after which a worker counts as dead"
        ),
    ] = 60.0,
) -> None:
    """Run queued jobs (harvests, digests, summaries) until stopped; start as many as you like, anywhere."""
    from harvester.queue.app import ensure_schema, queue_app
    from harvester.queue.tasks import warm_up

    context = open_context()
    app = queue_app(context.config.database_url())
    ensure_schema(app)
    warm_up(context)
    asyncio.run(_work(app, context, concurrency, stalled_after))


async def _work(app: procrastinate.App, context: Context, concurrency: int, stalled_after: float) -> None:
    from harvester.queue import tasks

    async with app.open_async():
        recovery = asyncio.create_task(tasks.keep_recovering(app, stalled_after))
        try:
            await app.run_worker_async(
                concurrency=concurrency,
                name=f"{socket.gethostname()}:{os.getpid()}",
                additional_context={tasks.SERVICE: context},
                delete_jobs="successful",
                # heartbeats well inside the time after which others take this worker's jobs
                update_heartbeat_interval=min(10.0, stalled_after / 3),
                stalled_worker_timeout=stalled_after,
            )
        finally:
            recovery.cancel()
