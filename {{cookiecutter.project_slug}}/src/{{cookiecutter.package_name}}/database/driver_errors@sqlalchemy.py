"""Which SQLAlchemy errors mean that the database cannot serve now, and which that a change
conflicts with what is stored: the database package turns them into the service's own
``DatabaseUnavailable`` (503) and ``Conflict`` (409)."""

from psycopg.errors import UniqueViolation
from sqlalchemy import exc

# psycopg reports a lost connection, a refused one, a statement timeout and a server shutdown
# alike as OperationalError.
UNAVAILABLE: tuple[type[Exception], ...] = (exc.OperationalError,)
# A unique key taken (psycopg's error, in SQLAlchemy's IntegrityError): the one integrity error
# that is the client's doing whatever the change.
UNIQUE_VIOLATION = UniqueViolation
