"""Alembic environment.

The bot and the tests pass an open connection in ``config.attributes["connection"]``
(see ``bot.db.upgrade_schema``); the ``alembic`` command line uses DATABASE_URL.
"""

import asyncio

from alembic import context
from sqlalchemy import Connection

from bot.db import create_engine
from bot.settings import Settings
from models import Base

target_metadata = Base.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_settings() -> None:
    engine = create_engine(Settings().database_url)
    async with engine.begin() as connection:
        await connection.run_sync(run_with)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_with(connection)
else:
    asyncio.run(run_from_settings())
