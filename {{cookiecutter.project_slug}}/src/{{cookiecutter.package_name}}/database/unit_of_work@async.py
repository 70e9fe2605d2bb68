"""Units of work: several statements, through any repositories, committed together or not at all."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from types import TracebackType
from typing import Self

{% if cookiecutter.db_driver == "databases" -%}
from databases.core import Connection

from .core import Database
{%- elif cookiecutter.db_driver == "sqlalchemy_async" -%}
from sqlalchemy.ext.asyncio import AsyncSession as Connection

from .core import Database
{%- else -%}
from .core import Connection, Database
{%- endif %}


class UnitOfWork:
    """One connection in one transaction, for the length of an ``async with`` block.

    Entering the block takes a connection and begins the transaction (``Database.transaction``);
    leaving it commits, or rolls back if anything in the block raised. Repositories built on the
    unit run every statement, reads included, on its connection::

        async with work:
            orders, lines = OrderRepository(work), OrderLineRepository(work)
            order = await orders.create(...)
            await lines.add(order.id, ...)

    Open it in the endpoint, so that it commits before the response is sent. An error inside the
    block ends the transaction: let it propagate.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._transaction = AsyncExitStack()
        self._connection: Connection | None = None

    async def __aenter__(self) -> Self:
        self._connection = await self._transaction.enter_async_context(self._database.transaction())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        self._connection = None
        return await self._transaction.__aexit__(exc_type, exc, traceback)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """The unit's connection, in its transaction."""
        if self._connection is None:
            raise RuntimeError("a unit of work lends its connection inside `async with` only")
        yield self._connection

    # A repository's write joins the unit's transaction instead of committing on its own.
    write = connection
