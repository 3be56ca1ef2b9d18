"""Runs this project's migrations with Alembic itself (tests/orm.rs).

The database comes from LOCKGATE_TEST_DSN, libpq key=value settings.
"""

import os

import psycopg
import sqlalchemy as sa
from alembic import context

engine = sa.create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(os.environ["LOCKGATE_TEST_DSN"]))
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
