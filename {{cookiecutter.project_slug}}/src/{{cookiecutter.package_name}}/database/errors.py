"""The service's own database errors, whatever the driver: the web edge answers them."""


class Conflict(Exception):
    """A change that conflicts with what is stored (a name taken, say), found by a repository:
    answered 409 with this message."""


class CommitOutcomeUnknown(Exception):
    """The connection was lost while COMMIT was under way: the server may have committed."""
