"""STAND-IN, to be replaced by `harvester.store.accounts` when the accounts branch is merged.

Only what sign-in needs until then, with the same names and signatures: import from
`harvester.store.accounts` instead and delete this module.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from harvester.store.models import User


def find_or_create_user_by_subject(session: Session, subject: str, email: str | None, display_name: str | None) -> User:
    """The user the identity provider calls `subject` ("<issuer> <sub>"), created on first sign-in.

    Email and name follow the provider's on every sign-in; a disabled user is returned as is (the
    caller refuses them), never re-enabled.
    """
    user = session.scalars(select(User).where(User.subject == subject)).one_or_none()
    if user is None:
        # `name` is unique and names the user in review links; the subject is unique already
        user = User(name=subject[:200], subject=subject)
        session.add(user)
    user.email = email
    user.display_name = display_name
    session.flush()
    return user


def user_by_name(session: Session, name: str) -> User | None:
    """The user a review link names (links carry `User.name`)."""
    return session.scalars(select(User).where(User.name == name)).one_or_none()
