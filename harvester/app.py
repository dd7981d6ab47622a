"""The application context every command starts from: configuration, store, and the current user."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from harvester.candidates import WeekResult, recluster_weeks, weeks_of
from harvester.clustering import load_pipeline
from harvester.config import LoadedConfig
from harvester.errors import ConfigError
from harvester.sources import Connector, configured_connectors
from harvester.store import repository
from harvester.store.engine import open_store
from harvester.sync import ProgressCallback, SourceResult, SyncRunner


@dataclass
class App:
    config: LoadedConfig
    sessions: sessionmaker[Session]
    user_id: int
    zone: tzinfo

    @classmethod
    def open(cls, config: LoadedConfig) -> App:
        settings = config.settings
        url = config.database_url()
        try:
            sessions = open_store(url)
        except OperationalError as exc:
            raise ConfigError(f"cannot open the database: {exc.orig}", path=config.path, key="database.url") from None
        with sessions.begin() as session:
            user = repository.get_or_create_user(session, settings.user.name, settings.user.timezone)
            user_id = user.id
        return cls(config=config, sessions=sessions, user_id=user_id, zone=settings.user.zone())

    def now(self) -> datetime:
        return datetime.now(self.zone)

    def connectors(self, only: str | None = None) -> list[Connector]:
        return configured_connectors(self.config.settings, only)

    def harvest(
        self,
        *,
        only: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        progress: ProgressCallback | None = None,
        now: datetime | None = None,
    ) -> list[SourceResult]:
        runner = SyncRunner(self.sessions, self.user_id)
        return runner.run(self.connectors(only), now=now or self.now(), since=since, until=until, progress=progress)

    def recluster(self, weeks: Iterable[str]) -> list[WeekResult]:
        """Re-cluster the given ISO weeks (the pipeline loads on first use)."""
        weeks = sorted(set(weeks))
        if not weeks:
            return []
        nlp = load_pipeline(self.config.settings.nlp.model)
        return recluster_weeks(self.sessions, self.user_id, self.zone, weeks, nlp)

    def recluster_changed(self, results: Iterable[SourceResult]) -> list[WeekResult]:
        """After a harvest: re-cluster every week that gained or changed an activity."""
        return self.recluster(weeks_of((a for r in results for a in r.counts.changed), self.zone))
