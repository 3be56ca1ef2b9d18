"""a bonus computed in Python, an index

Revision ID: d4
Revises: c3
"""

from alembic import op

revision = "d4"
down_revision = "c3"
branch_labels = None
depends_on = None

BONUS = 3


def upgrade() -> None:
    # SQL built by Python when the revision runs, and an index that would be built
    # concurrently in a revision of its own.
    op.execute("UPDATE accounts SET balance = balance + %d" % BONUS)
    op.create_index("ix_accounts_balance", "accounts", ["balance"])


def downgrade() -> None:
    op.drop_index("ix_accounts_balance", table_name="accounts")
