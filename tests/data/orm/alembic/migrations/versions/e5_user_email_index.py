"""an index on users.email

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


def downgrade() -> None:
    op.drop_index("ix_users_email", table_name="users")
