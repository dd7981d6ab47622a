"""The team service's work on a distributed task queue: procrastinate, on the service's PostgreSQL.

The scheduler's tick defers one job per user and job kind (`defer.py`), each with a queueing lock
so two ticks never queue the same work and a lock per user so two workers never work for one
user at once; `brag worker` runs the tasks (`tasks.py`) on a thread pool. The work itself is the
single-user job (harvester/jobs.py), whose per-period claim in `job_runs` keeps a retried or
recovered job from being done twice. A request limit that belongs to a token several jobs share
is counted in one table for all workers (`budget.py`).
"""
