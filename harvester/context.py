"""The application context every command starts from: configuration, store, and the current user."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from harvester.config import LoadedConfig
from harvester.errors import ConfigError
from harvester.sources import Connector, configured_connectors
from harvester.store import repository
from harvester.store.engine import open_store
from harvester.sync import ProgressCallback, SourceResult, SyncRunner
from harvester.timeutil import iso_week_label

if TYPE_CHECKING:
    from harvester.candidates import WeekResult


@dataclass
class Context:
    config: LoadedConfig
    sessions: sessionmaker[Session]
    user_id: int
    zone: tzinfo

    @classmethod
    def open(cls, config: LoadedConfig) -> Context:
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

    @property
    def person_name(self) -> str:
        """The user's name as people read it (the email's greeting, an export's title), or "" if unknown."""
        from harvester.digest.render import addressee

        email = self.config.settings.email
        return addressee(self.config.settings.user.name, email.to if email else None).name

    @property
    def team_mode(self) -> bool:
        return self.config.settings.team is not None

    def connectors(self, only: str | None = None) -> list[Connector]:
        """The sources to harvest: the configured ones, or in team mode the user's connected accounts."""
        if self.team_mode:
            from harvester.team.sources import member_connectors, vault_of

            vault = vault_of(self.config.settings, self.config.path)
            return member_connectors(self.config.settings, self.sessions, self.user_id, vault, only)
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
        results = runner.run(self.connectors(only), now=now or self.now(), since=since, until=until, progress=progress)
        if self.team_mode:
            from harvester.team.sources import record_refusals

            record_refusals(self.sessions, self.user_id, results)
        return results

    def recluster(self, weeks: Iterable[str]) -> list[WeekResult]:
        """Re-cluster the given ISO weeks (spaCy is imported and its pipeline loaded only then)."""
        weeks = sorted(set(weeks))
        if not weeks:
            return []
        from harvester.candidates import recluster_weeks
        from harvester.clustering import load_pipeline

        nlp = load_pipeline(self.config.settings.nlp.model)
        return recluster_weeks(self.sessions, self.user_id, self.zone, weeks, nlp)

    def finish_clustering(self) -> list[WeekResult]:
        """Re-cluster every week with an activity stored, changed or gone since it was last clustered.

        Every command that reads candidates calls this first, so items a killed or interrupted run
        stored are grouped by the next command; with nothing due it is one indexed query.
        """
        with self.sessions() as session:
            due = repository.clustering_due(session, self.user_id)
        return self.recluster({iso_week_label(moment, self.zone) for moment in due})

    def recluster_changed(self, results: Iterable[SourceResult]) -> list[WeekResult]:
        """After a harvest: the weeks its new, changed and gone items are in, and any left over.

        The marks are stored with the records, so `results` is no longer needed to find them.
        """
        return self.finish_clustering()
