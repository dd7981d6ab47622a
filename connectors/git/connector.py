"""Local git: the commits you authored in the repositories listed in `[git] repos`.

Facts this module relies on (git 2.39 documentation, checked against git 2.39.5; GitPython 3.2 source):
- `git rev-list --since/--until` compare the committer date. Plain `--since` stops walking at the
  first older commit, so a tip whose committer date is in the past (a clock-skewed machine,
  `rebase --committer-date-is-author-date`) hides newer commits behind it (measured);
  `--since-as-filter` (git 2.39+) visits the whole range instead;
- `--author` with `--fixed-strings --regexp-ignore-case` matches a substring of "Name <email>",
  so the pattern `<email>` matches exactly that address, in any letter case (measured);
- `--no-merges` leaves out commits with more than one parent;
- `Commit.stats` runs `git diff --numstat --no-renames` against the first parent (`git diff-tree
  --root` for a root commit), so a renamed file lists both its old and new path; on a shallow
  clone's boundary commit it fails, because the parent was never fetched;
- nothing here writes: rev-list, cat-file and diff only read objects, and GIT_OPTIONAL_LOCKS=0
  stops even the optional index refresh some read commands do. Nothing is fetched.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from connectors.git.settings import GitSettings
from harvester.errors import SourceConfigError, SourceError
from harvester.records import Activity
from harvester.sources import Batch, Cursor
from harvester.timeutil import Window

if TYPE_CHECKING:
    # GitPython is imported where a harvest needs it: importing it costs about 0.1 s and runs `git --version`
    from git import Commit, Repo

log = logging.getLogger(__name__)

SOURCE = "git"
# commits can reach this clone days after they were made (fetched from another machine when you
# next pull) and keep their committer date; re-reading a week costs one `git diff` per own commit,
# about 7 ms each (measured: 133 commits of this repository in 0.9 s)
CURSOR_OVERLAP = timedelta(days=7)
# the refs a user's work lives on: local and remote-tracking branches, tags, and a detached HEAD
# (not --all: that adds refs/stash and refs/notes, whose commits git makes on the user's behalf)
REVISIONS = ("--branches", "--remotes", "--tags")
SINCE_AS_FILTER_VERSION = (2, 39)
BATCH_SIZE = 200
# a commit body past this is a pasted log or generated text, not a description of the work
BODY_LIMIT = 4_000
STATE_REPOS = "repos"
GIT_ENVIRONMENT = {
    "GIT_OPTIONAL_LOCKS": "0",
    # diff's paths with non-ASCII characters would be C-quoted ("caf\303\251.txt") otherwise
    # (core.quotePath; the GIT_CONFIG_COUNT variables are read by git 2.31+)
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "core.quotePath",
    "GIT_CONFIG_VALUE_0": "false",
}
# web hosts by a word in their name, and the path of a commit page under the repository's page
COMMIT_PAGES = (
    ("gitlab", "/-/commit/"),
    ("github", "/commit/"),
    ("codeberg.org", "/commit/"),
    ("bitbucket.org", "/commits/"),
)
# git's scp-like remote syntax, [user@]host:path, recognised only with no slash before the colon
SCP_REMOTE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>.+)$")
NETWORK_SCHEMES = frozenset({"https", "http", "ssh", "git", "git+ssh", "ssh+git"})
REMOVE_FIX = "restore it, or remove it from [git] repos"
FAILED_NOTE = "{reason}; the other repositories were read, and the next harvest reads this one again"


Chunk = tuple[Activity, ...]


@dataclass(frozen=True)
class RepositoryIdentity:
    """How a repository is named in the records: from a web-hosted origin remote, else its directory."""

    name: str
    # the commit page's address without the sha, e.g. https://github.com/octo/api/commit/
    commit_page: str = ""

    def commit_url(self, sha: str) -> str:
        return f"{self.commit_page}{sha}" if self.commit_page else ""


class GitConnector:
    name: ClassVar[str] = SOURCE
    cursor_overlap: ClassVar[timedelta] = CURSOR_OVERLAP

    def __init__(self, repos: Sequence[Path], author_emails: Iterable[str]) -> None:
        # one entry per repository, however often it is listed
        self.repos = tuple(dict.fromkeys(Path(path) for path in repos))
        self.author_emails = frozenset(email.strip().lower() for email in author_emails)

    @classmethod
    def from_settings(cls, settings: GitSettings | None) -> GitConnector | None:
        if settings is None:
            return None
        return cls(settings.repos, settings.author_emails)

    def harvest(self, window: Window, cursor: Cursor | None) -> Iterator[Batch]:
        """Each repository's commits in turn; one failing is a note, and the others are still read.

        The cursor's state keeps, per repository, the time up to which its commits are stored. A
        repository that failed keeps its old time and is read again from there next time, while
        the others move on.
        """
        if window.empty:
            return
        stored = self._stored_times(cursor)
        # per configured repository, the time its commits are stored up to; repositories no longer
        # configured are dropped, and one not read yet is owed from this window's start
        read_until = {str(path): stored.get(str(path)) or window.start for path in self.repos}
        failures: list[SourceError] = []
        for path in self.repos:
            start = self._start(stored.get(str(path)), window, cursor)
            last = yield from self._repository_batches(path, Window(start, window.end))
            if isinstance(last, SourceError):
                failures.append(last)
                continue
            read_until[str(path)] = max(read_until[str(path)], window.end)
            yield Batch(last, checkpoint=Cursor(window.end, {STATE_REPOS: _state(read_until)}))
        if failures and len(failures) == len(self.repos):
            raise _all_failed(failures)
        if failures:
            yield Batch(notes=tuple(FAILED_NOTE.format(reason=_reason(exc)) for exc in failures))

    def _repository_batches(self, path: Path, window: Window) -> Generator[Batch, None, Chunk | SourceError]:
        """One repository's commits as batches, but for the last chunk, returned to go with the checkpoint.

        On a failure, what was read is still yielded, and the error is returned.
        """
        pending: Chunk = ()
        try:
            for chunk in self._commit_chunks(path, window):
                if pending:
                    yield Batch(pending)
                pending = chunk
        except SourceError as exc:
            log.warning("git: %s: %s", path, exc)
            if pending:
                yield Batch(pending)
            return exc
        return pending

    @staticmethod
    def _stored_times(cursor: Cursor | None) -> dict[str, datetime]:
        stored = cursor.state.get(STATE_REPOS) if cursor is not None else None
        if not isinstance(stored, Mapping):
            return {}
        return {str(path): moment for path, value in stored.items() if (moment := _parse_time(value)) is not None}

    @staticmethod
    def _start(read_until: datetime | None, window: Window, cursor: Cursor | None) -> datetime:
        """Where to start reading one repository: the window, or earlier for one that fell behind."""
        if read_until is None or cursor is None or cursor.harvested_until is None:
            return window.start
        if read_until < cursor.harvested_until:
            return min(window.start, read_until - CURSOR_OVERLAP)
        return window.start

    def _commit_chunks(self, path: Path, window: Window) -> Iterator[Chunk]:
        with _classified(path), _open(path) as repo:
            identity = repository_identity(repo, path)
            chunk: list[Activity] = []
            # GitPython hands `rev` to rev-list as it is, and a list becomes several arguments
            revisions: Any = _revisions(repo)
            for commit in repo.iter_commits(revisions, **self._rev_list_options(repo, window)):
                activity = self._activity(commit, identity, window)
                if activity is not None:
                    chunk.append(activity)
                if len(chunk) == BATCH_SIZE:
                    yield tuple(chunk)
                    chunk = []
            yield tuple(chunk)

    def _rev_list_options(self, repo: Repo, window: Window) -> dict[str, Any]:
        since = "since_as_filter" if repo.git.version_info[:2] >= SINCE_AS_FILTER_VERSION else "since"
        return {
            # whole seconds (git's precision), widened; the window itself is applied to each commit
            since: f"@{math.floor(window.start.timestamp())}",
            "until": f"@{math.ceil(window.end.timestamp())}",
            "author": [f"<{email}>" for email in sorted(self.author_emails)],
            "fixed_strings": True,
            "regexp_ignore_case": True,
            "no_merges": True,
        }

    def _activity(self, commit: Commit, identity: RepositoryIdentity, window: Window) -> Activity | None:
        """One commit as an activity; None for merges, other authors and commits outside the window."""
        email = str(commit.author.email or "")
        # the committer date, not the author date: a rebase, amend or cherry-pick resets it, so it says
        # when the commit took the form it has in this history, and it is the date rev-list's
        # --since/--until read, so the incremental read and occurred_at agree
        committed_at = datetime.fromtimestamp(commit.committed_date, UTC)
        if len(commit.parents) > 1 or email.lower() not in self.author_emails or not window.contains(committed_at):
            return None
        message = commit.message if isinstance(commit.message, str) else commit.message.decode("utf-8", "replace")
        title, _, rest = message.strip().partition("\n")
        body = rest.strip()
        if len(body) > BODY_LIMIT:
            body = body[: BODY_LIMIT - 1] + "\u2026"
        paths, insertions, deletions = _diff_stat(commit)
        return Activity(
            id=commit_id(commit.hexsha),
            source=SOURCE,
            kind="commit",
            title=title.strip(),
            body=body,
            url=identity.commit_url(commit.hexsha),
            occurred_at=committed_at,
            repo=identity.name,
            paths=paths,
            author=email,
            extra={
                "sha": commit.hexsha,
                "authored_at": datetime.fromtimestamp(commit.authored_date, UTC).isoformat(),
                "insertions": insertions,
                "deletions": deletions,
            },
        )


def commit_id(sha: str) -> str:
    """The record id of a commit: its sha alone, which git makes unique.

    Not the repository's name: adding or changing the origin remote, or moving the directory,
    would give every commit a new id and the brag document duplicates; the same commit in two
    configured clones is the same work, stored once.
    """
    return f"{SOURCE}:commit:{sha}"


def repository_identity(repo: Repo, path: Path) -> RepositoryIdentity:
    """owner/name and the commit page when origin is on a known web host, else the directory name."""
    parsed = parse_remote(_origin_url(repo))
    if parsed is None:
        return RepositoryIdentity(path.name)
    host, repository_path = parsed
    for word, page in COMMIT_PAGES:
        if word in host:
            return RepositoryIdentity(repository_path, f"https://{host}/{repository_path}{page}")
    # a plain ssh server's path (srv/git/api) reads worse than the directory name
    return RepositoryIdentity(path.name)


def parse_remote(url: str) -> tuple[str, str] | None:
    """(web host, owner/name path) of a network remote URL; None for a local path or file:// remote.

    Credentials in the URL are dropped, and so is an ssh port (the web page is not served there).
    """
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme.lower() not in NETWORK_SCHEMES or not parts.hostname:
            return None
        host = parts.hostname
        if parts.scheme.lower() in ("https", "http") and parts.port:
            host = f"{host}:{parts.port}"
        path = parts.path
    elif match := SCP_REMOTE.match(url):
        host, path = match.group("host"), match.group("path")
    else:
        return None
    path = path.strip("/").removesuffix(".git").strip("/")
    if not path or path.startswith("~"):
        return None
    return host.lower(), path


def _origin_url(repo: Repo) -> str:
    try:
        return str(repo.remotes["origin"].url)
    except (IndexError, AttributeError, ValueError):
        return ""


def _revisions(repo: Repo) -> list[str]:
    # HEAD of a repository without commits names nothing, and rev-list would refuse it
    return [*REVISIONS, "HEAD"] if repo.head.is_valid() else list(REVISIONS)


def _diff_stat(commit: Commit) -> tuple[tuple[str, ...], int, int]:
    """Paths the commit touched, with lines added and removed; nothing known on a shallow boundary."""
    from git import GitCommandError

    try:
        stats = commit.stats
    except GitCommandError as exc:
        log.info("git: no diff stat for %s (%s)", commit.hexsha, _first_line(exc.stderr))
        return (), 0, 0
    return tuple(str(path) for path in stats.files), int(stats.total["insertions"]), int(stats.total["deletions"])


@contextmanager
def _open(path: Path) -> Iterator[Repo]:
    from git import Repo

    # no parent search: the configured directory itself must be the repository
    with Repo(path, search_parent_directories=False) as repo:
        repo.git.update_environment(**GIT_ENVIRONMENT)
        yield repo


@contextmanager
def _classified(path: Path) -> Iterator[None]:
    """Turn GitPython's and the file system's failures into the harvester's error classes, once, here."""
    try:
        import git
    except ImportError as exc:
        raise SourceConfigError(
            SOURCE, f"GitPython cannot start ({exc})", fix="install git and make sure it is on PATH"
        ) from None
    try:
        yield
    except SourceError:
        raise
    except git.NoSuchPathError:
        raise SourceConfigError(SOURCE, f"{path} no longer exists", fix=REMOVE_FIX) from None
    except git.InvalidGitRepositoryError:
        raise SourceConfigError(SOURCE, f"{path} is no longer a git repository", fix=REMOVE_FIX) from None
    except git.GitCommandNotFound:
        raise SourceConfigError(
            SOURCE, "the git program was not found", fix="install git and make sure it is on PATH"
        ) from None
    except git.GitCommandError as exc:
        raise _command_error(path, exc) from None
    except git.exc.ODBError as exc:
        # gitdb's BadObject and BadName: a missing or damaged object
        raise SourceError(
            SOURCE, f"{path}: its objects cannot be read ({exc})", fix=f"check the repository with: git -C {path} fsck"
        ) from None
    except OSError as exc:
        raise SourceConfigError(SOURCE, f"{path} cannot be read ({exc.strerror or exc})", fix=REMOVE_FIX) from None


def _command_error(path: Path, exc: Any) -> SourceError:
    stderr = _first_line(exc.stderr)
    if "dubious ownership" in stderr:
        # git 2.35.2+ refuses a repository owned by another user (CVE-2022-24765)
        return SourceConfigError(
            SOURCE,
            f"git refuses {path}: it is owned by another user",
            fix=f"if you trust it: git config --global --add safe.directory {path}",
        )
    if "permission denied" in stderr.lower():
        return SourceConfigError(SOURCE, f"{path} cannot be read ({stderr})", fix="check the file permissions")
    return SourceError(
        SOURCE,
        f"git failed reading {path}: {stderr or f'exit status {exc.status}'}",
        fix=f"check the repository with: git -C {path} fsck",
    )


def _first_line(text: object) -> str:
    cleaned = str(text or "").strip()
    # GitPython keeps git's stderr as "\n  stderr: 'fatal: …'"
    cleaned = cleaned.removeprefix("stderr:").strip().strip("'").strip()
    return cleaned.splitlines()[0] if cleaned else ""


def _reason(exc: SourceError) -> str:
    return f"{exc.detail} ({exc.fix})" if exc.fix else exc.detail


def _all_failed(failures: list[SourceError]) -> SourceError:
    if len(failures) == 1:
        return failures[0]
    reasons = "; ".join(_reason(exc) for exc in failures)
    return SourceError(SOURCE, f"no repository could be read ({reasons})")


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _state(read_until: Mapping[str, datetime]) -> dict[str, str]:
    return {path: moment.astimezone(UTC).isoformat() for path, moment in read_until.items()}


__all__ = ["CURSOR_OVERLAP", "SOURCE", "GitConnector", "commit_id", "parse_remote", "repository_identity"]
