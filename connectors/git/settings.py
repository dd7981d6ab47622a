"""The `[git]` section: which local repositories to read, and which author emails are the user's.

Validated without GitPython (importing it costs about 0.1 s and starts a `git --version`), so
loading the configuration stays cheap; the repository itself is opened only when harvesting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator


def looks_like_repository(path: Path) -> bool:
    """Whether git would open `path` as a repository without searching its parents.

    git's own test (setup.c, is_git_directory): a work tree has a `.git` directory, or a `.git`
    file ("gitdir: …") in a linked worktree or submodule; a bare repository is itself a git
    directory, holding HEAD, objects/ and refs/.
    """
    if (path / ".git").exists():
        return True
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def _repository_path(value: Path) -> Path:
    path = value.expanduser()
    if not path.exists():
        raise ValueError(f"no such directory: {path}")
    if not path.is_dir():
        raise ValueError(f"not a directory: {path}")
    if not looks_like_repository(path):
        raise ValueError(f"not a git repository (no .git in it): {path}")
    # resolved, so the cursor's per-repository state keeps one key however the path was written
    return path.resolve()


def _email(value: str) -> str:
    address = value.strip()
    if "@" not in address or any(ch.isspace() or ch in "<>" for ch in address):
        raise ValueError("expected a bare email address like me@example.com")
    # git stores the address as typed; brag compares them case-insensitively
    return address.lower()


RepositoryPath = Annotated[Path, AfterValidator(_repository_path)]
AuthorEmail = Annotated[str, AfterValidator(_email)]


class GitSettings(BaseModel):
    """`[git]`: commits you authored in local repositories; read only, nothing is fetched."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repos: tuple[RepositoryPath, ...] = Field(
        description='local repositories to read, e.g. ["~/src/api"]; "~" is your home directory'
    )
    author_emails: tuple[AuthorEmail, ...] = Field(
        description="the emails your commits carry (git config user.email); matched case-insensitively"
    )

    # a validator, not min_length: pydantic would add "at least 1 item" to every bad entry's error
    @field_validator("repos", "author_emails")
    @classmethod
    def _not_empty(cls, value: tuple[object, ...]) -> tuple[object, ...]:
        if not value:
            raise ValueError("must list at least one entry")
        # one entry per repository or address, however often it is written
        return tuple(dict.fromkeys(value))


__all__ = ["GitSettings", "looks_like_repository"]
