"""an index on users.email, none on users.name

Revision ID: e5
Revises: d4
"""

from alembic import op

revision = "e5"
down_revision = "d4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_users_email", "users", ["email"])
    op.drop_index("ix_users_name", table_name="users")


def downgrade() -> None:
    op.create_index("ix_users_name", "users", ["name"])
    op.drop_index("ix_users_email", table_name="users")
