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
    op.create_index(
        "ix_accounts_user_balance", "accounts", ["user_id", "balance"], unique=True, postgresql_nulls_not_distinct=True
    )
    op.create_unique_constraint("uq_users_name_email", "users", ["name", "email"], postgresql_nulls_not_distinct=True)


def downgrade() -> None:
    op.drop_constraint("uq_users_name_email", "users", type_="unique")
    op.drop_index("ix_accounts_user_balance", table_name="accounts")
    op.create_index("ix_users_name", "users", ["name"])
    op.drop_index("ix_users_email", table_name="users")
