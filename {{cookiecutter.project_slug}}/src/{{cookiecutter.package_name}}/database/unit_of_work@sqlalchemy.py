"""Units of work: several statements, through any repositories, committed together or not at all."""

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session

from .core import Database


class UnitOfWork:
    """One session in one transaction, for the length of a ``with`` block.

    Entering the block opens a session and begins its transaction (``Database.transaction``, a
    ``sessionmaker.begin()``); leaving it commits, or rolls back if anything in the block raised.
    Repositories built on the unit run every statement, reads included, in its session::

        with work:
            orders, lines = OrderRepository(work), OrderLineRepository(work)
            order = orders.create(...)
            lines.add(order.id, ...)

    Open it in the work the endpoint runs in the thread pool, so that it commits before the
    response is sent. An error inside the block ends the transaction: let it propagate.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._transaction = ExitStack()
        self._session: Session | None = None

    def __enter__(self) -> Self:
        self._session = self._transaction.enter_context(self._database.transaction())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        self._session = None
        return self._transaction.__exit__(exc_type, exc, traceback)

    @contextmanager
    def connection(self) -> Iterator[Session]:
        """The unit's session, in its transaction."""
        if self._session is None:
            raise RuntimeError("a unit of work lends its session inside `with` only")
        yield self._session

    # A repository's write joins the unit's transaction instead of committing on its own.
    write = connection
