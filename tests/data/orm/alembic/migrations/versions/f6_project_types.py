"""columns of the project's own types

Revision ID: f6
Revises: e5
"""

import sqlalchemy as sa
from alembic import op

import shop_types

revision = "f6"
down_revision = "e5"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("profile", shop_types.Document(), nullable=True))
    op.alter_column("users", "name", type_=shop_types.Note(), existing_type=sa.String(length=50))


def downgrade() -> None:
    op.alter_column("users", "name", type_=sa.String(length=50), existing_type=shop_types.Note())
    op.drop_column("users", "profile")
