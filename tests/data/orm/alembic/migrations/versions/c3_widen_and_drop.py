"""widen the balance, drop the phone

Revision ID: c3
Revises: b2
"""

import sqlalchemy as sa
from alembic import op

revision = "c3"
down_revision = "b2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("accounts", "balance", existing_type=sa.Integer(), type_=sa.BigInteger())
    op.alter_column("users", "name", existing_type=sa.String(length=50), type_=sa.String(length=100))
    op.drop_column("users", "phone")
    op.create_table(
        "payments",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("account_id", sa.BigInteger(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("kind", sa.Enum("card", "transfer", name="payment_kind"), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("payments")
    op.alter_column("users", "name", existing_type=sa.String(length=100), type_=sa.String(length=50))
    op.alter_column("accounts", "balance", existing_type=sa.BigInteger(), type_=sa.Integer())
