#!/usr/bin/env python3
"""Writes a deterministic corpus of realistic Alembic revisions for benchmarks.

    gen_alembic_corpus.py OUT_DIR [--files N] [--seed S]

The same schema history gen_django_corpus.py writes (same seed, same random choices, same
number of files), in the shape `alembic revision --autogenerate` writes: one environment per
app (env.py, versions/), op.create_table with sa.Column, op.add_column (with and without a
server default), op.alter_column (type, nullability, rename), op.drop_column,
op.create_index, op.create_check_constraint, op.execute, data migrations through
op.get_bind(), and a downgrade() in every revision. Standard library only.
"""

import argparse
import os
import random

# Each Django field of gen_django_corpus.py, as the column autogenerate writes for it.
FIELDS = [
    'sa.String(length={n}), nullable=False',
    'sa.String(length={n}), nullable=False',
    'sa.Text(), nullable=False',
    'sa.Integer(), nullable=False',
    'sa.BigInteger(), nullable=True',
    'sa.Boolean(), nullable=False',
    'sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False',
    'sa.DateTime(timezone=True), nullable=True',
    'sa.Numeric(precision={n}, scale=2), nullable=False',
    'postgresql.JSONB(astext_type=sa.Text()), nullable=False',
    'sa.Uuid(), nullable=False',
    'sa.String(length={n}), nullable=False, unique=True',
    'sa.String(length=254), nullable=False',
    'sa.Integer(), nullable=False',
]

WORDS = ["order", "invoice", "customer", "product", "shipment", "payment", "account", "voucher",
         "review", "address", "warehouse", "stock", "basket", "refund", "plan", "tenant"]


def field(rng):
    return rng.choice(FIELDS).format(n=rng.choice([32, 64, 128, 255]))


def table_name(app, model):
    return f"{app}_{model.lower()}"


def create_table(rng, app, model, other_models, fields):
    table = table_name(app, model)
    up = [
        "    op.create_table(",
        f'        "{table}",',
        '        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),',
    ]
    for i in range(rng.randint(3, 10)):
        name = f"{rng.choice(WORDS)}_{i}"
        fields.append(name)
        up.append(f'        sa.Column("{name}", {field(rng)}),')
    if other_models:
        target_app, target = rng.choice(other_models)
        column = f"{target.lower()}_id"
        up.append(f'        sa.Column("{column}", sa.BigInteger(), nullable=False),')
        up.append(f'        sa.ForeignKeyConstraint(["{column}"], ["{table_name(target_app, target)}.id"], ondelete="CASCADE"),')
    up += ['        sa.PrimaryKeyConstraint("id"),', "    )"]
    return up, [f'    op.drop_table("{table}")']


def later_operation(rng, table, step, fields):
    kind = rng.choice(["add", "add_default", "alter", "rename", "remove", "index", "constraint", "sql", "python"])
    if kind in ("add", "add_default") or len(fields) < 2:
        name = f"{rng.choice(WORDS)}_{step}"
        fields.append(name)
        kind = kind if kind in ("add", "add_default") else "add"
    else:
        name = rng.choice(fields)
    drop = [f'    op.drop_column("{table}", "{name}")']
    if kind == "add":
        return [f'    op.add_column("{table}", sa.Column("{name}", {field(rng)}))'], drop
    if kind == "add_default":
        return [f'    op.add_column("{table}", sa.Column("{name}", sa.Integer(), server_default="0", nullable=False))'], drop
    if kind == "alter":
        length = rng.choice([100, 200, 400])
        return [f'    op.alter_column("{table}", "{name}", type_=sa.String(length={length}), nullable=True)'], [
            f'    op.alter_column("{table}", "{name}", type_=sa.Text(), nullable=False)']
    if kind == "rename":
        fields.remove(name)
        fields.append(f"{name}_v2")
        return [f'    op.alter_column("{table}", "{name}", new_column_name="{name}_v2")'], [
            f'    op.alter_column("{table}", "{name}_v2", new_column_name="{name}")']
    if kind == "remove":
        fields.remove(name)
        return [f'    op.drop_column("{table}", "{name}")'], [
            f'    op.add_column("{table}", sa.Column("{name}", sa.Text(), nullable=True))']
    if kind == "index":
        index = f"{table[:20]}_{step}_idx"
        return [f'    op.create_index("{index}", "{table}", ["{name}"], unique=False)'], [
            f'    op.drop_index("{index}", table_name="{table}")']
    if kind == "constraint":
        check = f"{table[:20]}_{step}_check"
        return [f'    op.create_check_constraint("{check}", "{table}", "{name} >= 0")'], [
            f'    op.drop_constraint("{check}", "{table}", type_="check")']
    if kind == "sql":
        return [f'    op.execute("CREATE INDEX IF NOT EXISTS {table}_{step}_sql ON {table} (id)")'], [
            f'    op.execute("DROP INDEX IF EXISTS {table}_{step}_sql")']
    return [
        "    conn = op.get_bind()",
        f'    conn.execute(sa.text("UPDATE {table} SET flag = true WHERE flag = false"))',
    ], ["    pass"]


def write_revision(path, revision, down, message, upgrade, downgrade):
    lines = [
        f'"""{message}', "", f"Revision ID: {revision}", f"Revises: {down or ''}",
        "Create Date: 2025-01-01 00:00:00.000000", "", '"""',
        "from typing import Sequence, Union", "", "from alembic import op", "import sqlalchemy as sa",
        "from sqlalchemy.dialects import postgresql", "", "# revision identifiers, used by Alembic.",
        f'revision: str = "{revision}"',
        f"down_revision: Union[str, Sequence[str], None] = {repr(down)}",
        "branch_labels: Union[str, Sequence[str], None] = None",
        "depends_on: Union[str, Sequence[str], None] = None", "", "",
        "def upgrade() -> None:", "    # ### commands auto generated by Alembic - please adjust! ###",
    ] + upgrade + ["    # ### end Alembic commands ###", "", "",
                   "def downgrade() -> None:", "    # ### commands auto generated by Alembic - please adjust! ###",
                   ] + list(reversed(downgrade)) + ["    # ### end Alembic commands ###", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    apps = [f"app{i:02d}" for i in range(max(1, args.files // 100))]
    per_app = args.files // len(apps)
    models_so_far = []
    for app in apps:
        versions = os.path.join(args.out, app, "versions")
        os.makedirs(versions, exist_ok=True)
        with open(os.path.join(args.out, app, "env.py"), "w") as f:
            f.write("from alembic import context\n\ncontext.run_migrations()\n")
        models = [f"{rng.choice(WORDS).title()}{i}" for i in range(3)]
        fields = {model: [] for model in models}
        previous = None
        for number in range(1, per_app + 1):
            revision = f"{app}{number:04d}abcd"
            upgrade, downgrade = [], []
            if number == 1:
                for model in models:
                    up, down = create_table(rng, app, model, models_so_far[-20:], fields[model])
                    upgrade += up
                    downgrade += down
            else:
                for step in range(rng.randint(1, 4)):
                    model = rng.choice(models)
                    up, down = later_operation(rng, table_name(app, model), number * 10 + step, fields[model])
                    upgrade += up
                    downgrade += down
            message = "initial" if number == 1 else f"auto {number}"
            name = f"{number:04d}_{revision}_{message.replace(' ', '_')}.py"
            write_revision(os.path.join(versions, name), revision, previous, message, upgrade, downgrade)
            previous = revision
        models_so_far += [(app, m) for m in models]


if __name__ == "__main__":
    main()
