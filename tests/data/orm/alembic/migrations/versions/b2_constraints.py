"""constraints and a required name

Revision ID: b2
Revises: a1
"""

import sqlalchemy as sa
from alembic import op

revision = "b2"
down_revision = "a1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("phone", sa.String(length=20), nullable=True))
    op.add_column("accounts", sa.Column("currency", sa.String(length=3), server_default="EUR", nullable=False))
    op.create_index("ix_users_name", "users", ["name"])
    op.create_foreign_key("fk_accounts_user", "accounts", "users", ["user_id"], ["id"], ondelete="CASCADE")
    op.create_check_constraint("ck_users_email", "users", "length(email) > 3")
    op.create_unique_constraint("uq_users_email", "users", ["email"])
    op.execute("UPDATE users SET name = split_part(email, '@', 1) WHERE name IS NULL")
    op.alter_column("users", "name", existing_type=sa.String(length=50), nullable=False)


def downgrade() -> None:
    op.alter_column("users", "name", existing_type=sa.String(length=50), nullable=True)
    op.drop_constraint("uq_users_email", "users", type_="unique")
    op.drop_constraint("ck_users_email", "users", type_="check")
    op.drop_constraint("fk_accounts_user", "accounts", type_="foreignkey")
    op.drop_index("ix_users_name", table_name="users")
    op.drop_column("accounts", "currency")
    op.drop_column("users", "phone")
