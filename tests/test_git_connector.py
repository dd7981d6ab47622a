"""The local git source, against real repositories built with GitPython in a temporary directory."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import git
import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker
from support import NOW

from connectors.git.connector import GitConnector, parse_remote
from connectors.git.settings import GitSettings
from harvester.errors import SourceConfigError
from harvester.records import Activity
from harvester.sources import SINGLE_STREAM, Batch, Cursor
from harvester.store import repository
from harvester.sync import SyncRunner, harvest_window
from harvester.timeutil import Window

ME = git.Actor("Me", "me@example.com")
# the same person, with the address spelled as another machine's git config had it
ME_CAPITALISED = git.Actor("Me", "Me@Example.COM")
OTHER = git.Actor("Colleague", "colleague@example.com")
WEEK = Window(NOW - timedelta(days=7), NOW)


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # git reads ~/.gitconfig and /etc/gitconfig; the tests must not depend on the machine's
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


class Repository:
    """A real repository whose commits are dated by the test."""

    def __init__(self, path: Path, origin: str | None = None) -> None:
        self.path = path
        self.repo = git.Repo.init(path, initial_branch="main")
        if origin is not None:
            self.repo.create_remote("origin", origin)

    def commit(
        self,
        message: str,
        at: datetime,
        *,
        author: git.Actor = ME,
        files: dict[str, str] | None = None,
        authored_at: datetime | None = None,
        parents: list[git.Commit] | None = None,
        move_head: bool = True,
    ) -> git.Commit:
        for name, text in (files or {f"{message[:12]}.txt": message}).items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            self.repo.index.add([name])
        return self.repo.index.commit(
            message,
            author=author,
            committer=author,
            author_date=authored_at or at,
            commit_date=at,
            parent_commits=parents,
            head=move_head,
        )

    def rename(self, old: str, new: str, message: str, at: datetime) -> git.Commit:
        self.repo.index.move([old, new])
        return self.repo.index.commit(message, author=ME, committer=ME, author_date=at, commit_date=at)


def harvest(connector: GitConnector, window: Window = WEEK, cursor: Cursor | None = None) -> list[Batch]:
    return list(connector.harvest(window, cursor))


def activities(batches: list[Batch]) -> list[Activity]:
    return [activity for batch in batches for activity in batch.activities]


def last_checkpoint(batches: list[Batch]) -> Cursor:
    checkpoints = [batch.checkpoint for batch in batches if batch.checkpoint is not None]
    assert checkpoints
    return checkpoints[-1]


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
def api(tmp_path: Path) -> Repository:
    return Repository(tmp_path / "api", origin="git@github.com:octo/api.git")


def test_own_commit_becomes_a_record_with_its_diff_stat(api: Repository) -> None:
    commit = api.commit(
        "Retry webhook deliveries\n\nThe gateway drops one in a hundred.\nBacks off up to a minute.",
        days_ago(2),
        files={"src/webhooks.py": "retry = True\n", "tests/test_webhooks.py": "ok\n"},
        authored_at=days_ago(5),
    )
    (record,) = activities(harvest(GitConnector([api.path], ["me@example.com"])))
    assert record == Activity(
        id=f"git:commit:{commit.hexsha}",
        source="git",
        kind="commit",
        title="Retry webhook deliveries",
        body="The gateway drops one in a hundred.\nBacks off up to a minute.",
        url=f"https://github.com/octo/api/commit/{commit.hexsha}",
        # the committer date: when the commit took this form (the author date stays in extra)
        occurred_at=days_ago(2),
        repo="octo/api",
        paths=("src/webhooks.py", "tests/test_webhooks.py"),
        author="me@example.com",
        extra={"sha": commit.hexsha, "authored_at": days_ago(5).isoformat(), "insertions": 2, "deletions": 0},
    )


def test_only_the_users_commits_and_no_merges(api: Repository) -> None:
    base = api.commit("Base", days_ago(6))
    mine = api.commit("Mine, address capitalised", days_ago(5), author=ME_CAPITALISED)
    api.commit("Theirs", days_ago(4), author=OTHER)
    side = api.commit("Side branch work", days_ago(4), parents=[base], move_head=False)
    api.commit("Merge side branch", days_ago(3), parents=[api.repo.head.commit, side])
    records = activities(harvest(GitConnector([api.path], ["ME@example.com"])))
    assert sorted(record.title for record in records) == ["Base", "Mine, address capitalised", "Side branch work"]
    assert {record.author for record in records} == {"me@example.com", mine.author.email}


def test_rename_lists_old_and_new_path(api: Repository) -> None:
    api.commit("Add client", days_ago(3), files={"client.py": "x = 1\n"})
    api.rename("client.py", "http_client.py", "Rename client module", days_ago(2))
    renamed = next(r for r in activities(harvest(GitConnector([api.path], [ME.email or ""]))) if "Rename" in r.title)
    assert sorted(renamed.paths) == ["client.py", "http_client.py"]


def test_non_ascii_path_is_not_quoted(api: Repository) -> None:
    api.commit("Add the café menu", days_ago(1), files={"menus/café.md": "croissant\n"})
    (record,) = activities(harvest(GitConnector([api.path], [ME.email or ""])))
    assert record.paths == ("menus/café.md",)


def test_long_body_is_bounded(api: Repository) -> None:
    api.commit("Vendor a log\n\n" + "line of pasted log output\n" * 1000, days_ago(1))
    (record,) = activities(harvest(GitConnector([api.path], [ME.email or ""])))
    assert len(record.body) == 4000
    assert record.body.endswith("…")


def test_window_is_half_open_on_the_commit_date(api: Repository) -> None:
    api.commit("Before the window", WEEK.start - timedelta(seconds=1))
    api.commit("At the start", WEEK.start)
    api.commit("Inside", days_ago(3))
    api.commit("At the end", WEEK.end)
    titles = [record.title for record in activities(harvest(GitConnector([api.path], [ME.email or ""])))]
    assert sorted(titles) == ["At the start", "Inside"]


def test_tip_dated_in_the_past_does_not_hide_newer_commits(api: Repository) -> None:
    # a machine with a wrong clock, or rebase --committer-date-is-author-date: plain --since would stop here
    api.commit("Recent work", days_ago(2))
    api.commit("Committed with an old date", days_ago(60))
    titles = [record.title for record in activities(harvest(GitConnector([api.path], [ME.email or ""])))]
    assert titles == ["Recent work"]


def test_remote_branches_and_tags_are_read_but_not_notes(api: Repository) -> None:
    on_main = api.commit("On main", days_ago(5))
    pushed = api.commit("Only on a remote-tracking branch", days_ago(4))
    api.repo.git.update_ref("refs/remotes/origin/feature", pushed.hexsha)
    api.repo.head.reset(on_main, index=True, working_tree=True)
    tagged = api.commit("Only tagged", days_ago(3))
    api.repo.create_tag("v1.0", ref=tagged)
    api.repo.head.reset(on_main, index=True, working_tree=True)
    # git makes a commit on refs/notes/commits for a note, in the user's name
    me = {"NAME": "Me", "EMAIL": ME.email or "", "DATE": days_ago(2).isoformat()}
    identity = {f"GIT_{role}_{key}": value for role in ("AUTHOR", "COMMITTER") for key, value in me.items()}
    with api.repo.git.custom_environment(**identity):
        api.repo.git.notes("add", "-m", "a note", api.repo.head.commit.hexsha)
    assert api.repo.commit("refs/notes/commits").author.email == ME.email
    titles = sorted(record.title for record in activities(harvest(GitConnector([api.path], [ME.email or ""]))))
    assert titles == ["On main", "Only on a remote-tracking branch", "Only tagged"]


def test_repository_without_commits_gives_nothing(tmp_path: Path) -> None:
    empty = Repository(tmp_path / "empty")
    batches = harvest(GitConnector([empty.path], [ME.email or ""]))
    assert activities(batches) == []
    assert last_checkpoint(batches).harvested_until == WEEK.end


@pytest.mark.parametrize(
    ("origin", "repo", "url"),
    [
        ("https://github.com/octo/api.git", "octo/api", "https://github.com/octo/api/commit/"),
        ("ssh://git@gitlab.com:2222/group/sub/api.git", "group/sub/api", "https://gitlab.com/group/sub/api/-/commit/"),
        (
            "https://oauth2:glpat-secret@gitlab.acme.com/team/api",
            "team/api",
            "https://gitlab.acme.com/team/api/-/commit/",
        ),
        ("git@bitbucket.org:team/api.git", "team/api", "https://bitbucket.org/team/api/commits/"),
        ("git@git.internal:srv/repos/api.git", "api", ""),
        ("/srv/git/api.git", "api", ""),
        (None, "api", ""),
    ],
)
def test_repository_name_and_url_come_from_origin(tmp_path: Path, origin: str | None, repo: str, url: str) -> None:
    repository = Repository(tmp_path / "api", origin=origin)
    commit = repository.commit("Work", days_ago(1))
    (record,) = activities(harvest(GitConnector([repository.path], [ME.email or ""])))
    assert (record.repo, record.url) == (repo, f"{url}{commit.hexsha}" if url else "")
    assert "secret" not in record.url


def test_parse_remote_reads_every_network_form() -> None:
    assert parse_remote("git@github.com:Octo/API.git") == ("github.com", "Octo/API")
    assert parse_remote("https://user:token@GitHub.com/octo/api/") == ("github.com", "octo/api")
    assert parse_remote("https://gitlab.acme.com:8443/team/api.git") == ("gitlab.acme.com:8443", "team/api")
    assert parse_remote("file:///srv/git/api.git") is None
    assert parse_remote("../api.git") is None


def test_second_harvest_with_the_cursor_finds_only_what_is_new(api: Repository) -> None:
    connector = GitConnector([api.path], [ME.email or ""])
    api.commit("First", days_ago(3))
    first = harvest(connector)
    cursor = last_checkpoint(first)
    assert [record.title for record in activities(first)] == ["First"]
    assert cursor.state == {"repos": {str(api.path.resolve()): WEEK.end.isoformat()}}

    later = NOW + timedelta(days=1)
    again = harvest(connector, harvest_window(cursor, connector.cursor_overlap, later, None, None), cursor)
    # the overlap re-reads "First" (the store changes nothing for it); nothing else is there
    assert [record.title for record in activities(again)] == ["First"]

    api.commit("Second", NOW + timedelta(hours=30))
    newest = NOW + timedelta(days=2)
    cursor = last_checkpoint(again)
    third = harvest(connector, harvest_window(cursor, connector.cursor_overlap, newest, None, None), cursor)
    assert sorted(record.title for record in activities(third)) == ["First", "Second"]


def test_failing_repository_is_a_note_and_read_again_from_where_it_stopped(tmp_path: Path) -> None:
    api = Repository(tmp_path / "api")
    web = Repository(tmp_path / "web")
    connector = GitConnector([api.path, web.path], [ME.email or ""])
    first = harvest(connector)
    cursor = last_checkpoint(first)

    # web is away (an unmounted disk) while a commit lands in it and one in api
    api.commit("API work", NOW + timedelta(days=2))
    web.commit("Web work", NOW + timedelta(days=2))
    away = tmp_path / "web-away"
    web.path.rename(away)
    second_window = harvest_window(cursor, connector.cursor_overlap, NOW + timedelta(days=20), None, None)
    second = harvest(connector, second_window, cursor)
    assert [record.title for record in activities(second)] == ["API work"]
    (note,) = [note for batch in second for note in batch.notes]
    assert f"{web.path} no longer exists" in note
    cursor = last_checkpoint(second)
    assert cursor.state["repos"][str(web.path)] == WEEK.end.isoformat()

    # back again, web is read from where it stopped, though that is before the new window
    away.rename(web.path)
    third_window = harvest_window(cursor, connector.cursor_overlap, NOW + timedelta(days=40), None, None)
    assert third_window.start > NOW + timedelta(days=2)
    titles = [record.title for record in activities(harvest(connector, third_window, cursor))]
    assert titles == ["Web work"]


def test_damaged_repository_is_a_note_naming_it_and_the_fix(tmp_path: Path) -> None:
    api = Repository(tmp_path / "api")
    web = Repository(tmp_path / "web")
    api.commit("Older", days_ago(3))
    api.commit("Newer", days_ago(2))
    web.commit("Web work", days_ago(2))
    older = api.repo.head.commit.parents[0].hexsha
    (api.path / ".git" / "objects" / older[:2] / older[2:]).unlink()
    batches = harvest(GitConnector([api.path, web.path], [ME.email or ""]))
    assert "Web work" in [record.title for record in activities(batches)]
    (note,) = [note for batch in batches for note in batch.notes]
    assert f"git failed reading {api.path}" in note
    assert f"git -C {api.path} fsck" in note
    # still owed from the window's start: the next harvest tries it again
    assert last_checkpoint(batches).state["repos"][str(api.path)] == WEEK.start.isoformat()


def test_repository_added_later_is_read_from_the_window_start(tmp_path: Path) -> None:
    api = Repository(tmp_path / "api")
    web = Repository(tmp_path / "web")
    web.commit("Before the window", NOW - timedelta(days=9))
    web.commit("In the window", NOW - timedelta(days=3))
    cursor = last_checkpoint(harvest(GitConnector([api.path], [ME.email or ""])))
    connector = GitConnector([api.path, web.path], [ME.email or ""])
    window = harvest_window(cursor, connector.cursor_overlap, NOW + timedelta(days=1), None, None)
    titles = [record.title for record in activities(harvest(connector, window, cursor))]
    assert titles == ["In the window"]


def test_every_repository_failing_fails_the_source(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    with pytest.raises(SourceConfigError, match=f"{gone} no longer exists") as raised:
        harvest(GitConnector([gone], [ME.email or ""]))
    assert "remove it from [git] repos" in raised.value.fix


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give the repository away")
def test_repository_of_another_user_names_the_safe_directory_fix(api: Repository, tmp_path: Path) -> None:
    api.commit("Work", days_ago(1))
    for directory, _dirs, files in os.walk(api.path):
        for name in [directory, *(os.path.join(directory, f) for f in files)]:
            os.chown(name, 65534, 65534)
    with pytest.raises(SourceConfigError, match="owned by another user") as raised:
        harvest(GitConnector([api.path], [ME.email or ""]))
    assert f"safe.directory {api.path}" in raised.value.fix


def test_shallow_clone_boundary_commit_has_no_paths(api: Repository, tmp_path: Path) -> None:
    api.commit("Old", days_ago(3))
    api.commit("New", days_ago(2))
    shallow = tmp_path / "shallow"
    git.Repo.clone_from(f"file://{api.path}", shallow, depth=1)
    (record,) = activities(harvest(GitConnector([shallow], [ME.email or ""])))
    assert (record.title, record.paths) == ("New", ())


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(path): path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file()}


def test_harvest_changes_nothing_in_the_repository(api: Repository) -> None:
    api.commit("Work", days_ago(1), files={"a.txt": "a\n"})
    # a stale index stat: `git status` would rewrite the index here, a harvest must not
    (api.path / "a.txt").touch()
    before = snapshot(api.path)
    assert activities(harvest(GitConnector([api.path], [ME.email or ""])))
    assert snapshot(api.path) == before


def test_runner_stores_commits_once_and_keeps_the_cursor(
    api: Repository, sessions: sessionmaker[Session], user_id: int
) -> None:
    connector = GitConnector([api.path], [ME.email or ""])
    api.commit("Stored once", days_ago(1))
    runner = SyncRunner(sessions, user_id)
    (first,) = runner.run([connector], now=NOW)
    (second,) = runner.run([connector], now=NOW + timedelta(hours=1))
    assert (first.counts.new, second.counts.new, second.counts.unchanged) == (1, 0, 1)
    with sessions() as session:
        row = repository.load_cursor(session, user_id, "git", SINGLE_STREAM)
        assert row is not None
        assert dict(row.state) == {"repos": {str(api.path.resolve()): (NOW + timedelta(hours=1)).isoformat()}}


def test_importing_the_connector_does_not_start_gitpython() -> None:
    # `brag --help` loads the configuration and discovers connectors; GitPython costs ~0.1 s and a `git --version`
    code = "import sys, connectors.git; assert 'git' not in sys.modules, 'GitPython imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_settings_expand_home_and_normalise_emails(tmp_path: Path) -> None:
    Repository(tmp_path / "home" / "src" / "api")
    settings = GitSettings(repos=["~/src/api"], author_emails=[" Me@Example.com "])
    assert settings.repos == ((tmp_path / "home" / "src" / "api").resolve(),)
    assert settings.author_emails == ("me@example.com",)
    connector = GitConnector.from_settings(settings)
    assert connector is not None
    assert connector.repos == settings.repos


def test_no_section_means_no_connector() -> None:
    assert GitConnector.from_settings(None) is None


def error_of(**section: object) -> tuple[tuple[str | int, ...], str]:
    with pytest.raises(ValidationError) as raised:
        GitSettings(**section)
    (error,) = raised.value.errors()
    return error["loc"], error["msg"]


def test_missing_repository_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    Repository(tmp_path / "api")
    loc, message = error_of(repos=[str(tmp_path / "api"), "~/src/gone"], author_emails=["me@example.com"])
    assert loc == ("repos", 1)
    assert message == f"Value error, no such directory: {tmp_path / 'home' / 'src' / 'gone'}"


def test_directory_that_is_no_repository_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    loc, message = error_of(repos=[str(tmp_path / "notes")], author_emails=["me@example.com"])
    assert loc == ("repos", 0)
    assert "not a git repository" in message


def test_bare_repository_and_linked_worktree_are_accepted(api: Repository, tmp_path: Path) -> None:
    api.commit("Work", days_ago(1))
    bare = git.Repo.init(tmp_path / "bare.git", bare=True)
    api.repo.git.worktree("add", str(tmp_path / "linked"))
    settings = GitSettings(repos=[bare.git_dir, tmp_path / "linked"], author_emails=["me@example.com"])
    assert len(settings.repos) == 2
    linked = activities(harvest(GitConnector([tmp_path / "linked"], [ME.email or ""])))
    assert [record.title for record in linked] == ["Work"]


@pytest.mark.parametrize(
    ("section", "location"),
    [
        ({"repos": [], "author_emails": ["me@example.com"]}, ("repos",)),
        ({"repos": None, "author_emails": ["me@example.com"]}, ("repos",)),
        ({"author_emails": ["Me <me@example.com>"]}, ("author_emails", 0)),
        ({"author_emails": []}, ("author_emails",)),
        ({"author_emails": ["me@example.com"], "branches": ["main"]}, ("branches",)),
    ],
)
def test_invalid_sections_name_the_key(
    api: Repository, section: dict[str, object], location: tuple[str | int, ...]
) -> None:
    fields = {key: value for key, value in {"repos": [api.path], **section}.items() if value is not None}
    with pytest.raises(ValidationError) as raised:
        GitSettings(**fields)
    assert [error["loc"] for error in raised.value.errors()] == [location]
