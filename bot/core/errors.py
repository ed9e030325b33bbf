"""The one domain error type: its message is a sentence a user can read."""


class DomainError(ValueError):
    """A rule was broken. ``str(error)`` is shown to the user as it is (ephemeral), and nothing was changed."""


class NotFound(DomainError):
    """The thing asked for does not exist (or the caller may not know that it does)."""


class PermissionDenied(DomainError):
    """The caller may not do this."""
