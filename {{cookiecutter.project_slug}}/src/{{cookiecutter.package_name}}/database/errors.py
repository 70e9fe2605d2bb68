"""The service's own database errors, whatever the driver. The database package raises them
where it meets the driver's; the web edge answers them. Any other error, an integrity error no
one expects included, is a bug: a logged 500."""


class DatabaseUnavailable(Exception):
    """PostgreSQL cannot serve now (down, restarting, overloaded, too slow), or no connection
    was free in time: answered 503, to retry. The driver's error is the cause."""


class ConnectionLost(DatabaseUnavailable):
    """The connection broke, or was given up on after no answer came in time."""


class CommitOutcomeUnknown(ConnectionLost):
    """The connection was lost while a commit was under way (a write's own, in autocommit, or a
    unit of work's COMMIT): the server may have committed."""


class Conflict(Exception):
    """A change that conflicts with what is stored: a unique key taken, which a repository may
    name (``NameTaken``), else this. Answered 409 with its message."""

    def __init__(self, detail: str = "The change conflicts with existing data.") -> None:
        super().__init__(detail)
