"""ORM models, one module per aggregate. Importing this package registers every table on Base.metadata."""

from tracker.models.accounts import AuthSession, Organisation, Role, User

__all__ = ["AuthSession", "Organisation", "Role", "User"]
