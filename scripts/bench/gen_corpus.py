#!/usr/bin/env python3
"""Generates a deterministic corpus of realistic PostgreSQL migration files.

    python3 scripts/bench/gen_corpus.py OUT_DIR [--count 10000] [--seed 42]

Writes OUT_DIR/NNNNN_<name>.sql (numbered in apply order). Standard library only; the same
seed and count always give byte-identical files.

The generator keeps a model of the schema it has built so far, so the migrations are not just
syntactically valid but also apply cleanly, in order, to an empty PostgreSQL (>= 13) database:
foreign keys point at earlier tables with matching key types, SET NOT NULL only follows a
backfill, CHECK constraints hold for every row the seeds inserted, type changes only widen,
CONCURRENTLY never appears inside BEGIN/COMMIT, renamed and dropped objects are tracked.
`scripts/bench/validate_corpus` applies a corpus to a throwaway cluster to prove it.

Mix: most files hold 1-15 statements; about 1% are large (100+ statements: an initial schema,
bulk seed data, a documentation pass of COMMENTs, an index sweep).
"""

import argparse
import os
import random
import sys

MAX_IDENT = 63

STATUSES = ("pending", "active", "suspended", "archived", "deleted")
WORDS = (
    "alpha", "bravo", "cedar", "delta", "ember", "falcon", "granite", "harbor", "indigo", "juniper",
    "kestrel", "lumen", "maple", "nimbus", "onyx", "prairie", "quartz", "raven", "sierra", "tundra",
)
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF")
COUNTRIES = ("US", "DE", "FR", "GB", "JP", "BR", "IN", "CA", "NL", "SE")
LOCALES = ("en-US", "en-GB", "de-DE", "fr-FR", "ja-JP", "pt-BR")
TIMEZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney")

# (plural, singular) table bases.
BASES = [
    ("users", "user"), ("accounts", "account"), ("organizations", "organization"), ("teams", "team"),
    ("projects", "project"), ("orders", "order"), ("order_items", "order_item"), ("products", "product"),
    ("categories", "category"), ("invoices", "invoice"), ("invoice_lines", "invoice_line"),
    ("payments", "payment"), ("subscriptions", "subscription"), ("plans", "plan"),
    ("addresses", "address"), ("shipments", "shipment"), ("warehouses", "warehouse"),
    ("inventory_items", "inventory_item"), ("carts", "cart"), ("cart_items", "cart_item"),
    ("coupons", "coupon"), ("reviews", "review"), ("posts", "post"), ("comments", "comment"),
    ("tags", "tag"), ("notifications", "notification"), ("messages", "message"),
    ("conversations", "conversation"), ("sessions", "session"), ("api_keys", "api_key"),
    ("webhooks", "webhook"), ("webhook_deliveries", "webhook_delivery"), ("audit_events", "audit_event"),
    ("feature_flags", "feature_flag"), ("roles", "role"), ("permissions", "permission"),
    ("memberships", "membership"), ("invitations", "invitation"), ("documents", "document"),
    ("attachments", "attachment"), ("tickets", "ticket"), ("refunds", "refund"),
    ("ledger_entries", "ledger_entry"), ("customers", "customer"), ("vendors", "vendor"),
    ("suppliers", "supplier"), ("purchase_orders", "purchase_order"), ("employees", "employee"),
    ("departments", "department"), ("locations", "location"), ("devices", "device"),
    ("campaigns", "campaign"), ("leads", "lead"), ("contacts", "contact"), ("tasks", "task"),
    ("milestones", "milestone"), ("releases", "release"), ("deployments", "deployment"),
    ("environments", "environment"), ("credentials", "credential"), ("exports", "export"),
    ("imports", "import"), ("reports", "report"), ("dashboards", "dashboard"), ("widgets", "widget"),
]
TABLE_PREFIXES = ("legacy", "tenant", "billing", "crm", "shop", "support", "internal", "partner")
TABLE_SUFFIXES = ("v2", "v3", "archive", "history", "staging", "snapshots")
SCHEMAS = ("public",) * 8 + ("billing", "analytics")
COL_PREFIXES = ("primary", "secondary", "billing", "shipping", "display", "internal", "legacy", "backup")
FK_ROLES = ("owner", "parent", "created_by", "assigned", "source", "target", "approver")


def q(text):
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


class Kind:
    """A kind of column: its type, how to make values, a CHECK that all those values satisfy."""

    def __init__(self, name, ty, value, backfill, check=None, uniq=False, default=None, settable=True):
        self.name, self.ty, self.value, self.backfill = name, ty, value, backfill
        self.check, self.uniq, self.default, self.settable = check, uniq, default, settable


def _uuid(rng):
    h = "%032x" % rng.getrandbits(128)
    return "%s-%s-4%s-a%s-%s" % (h[:8], h[8:12], h[13:16], h[17:20], h[20:])


KINDS = [
    Kind("email", "varchar(255)", lambda r, n: q("user%d@example.com" % n),
         "'user-' || id::text || '@example.invalid'", "position('@' in {c}) > 1", uniq=True),
    Kind("username", "varchar(64)", lambda r, n: q("user_%d" % n), "'user_' || id::text",
         "char_length({c}) >= 3", uniq=True),
    Kind("name", "text", lambda r, n: q("%s %d" % (r.choice(WORDS).title(), n)), "'Unnamed'",
         "char_length({c}) <= 200"),
    Kind("title", "varchar(200)", lambda r, n: q("Title %d" % n), "'Untitled'", "char_length({c}) > 0"),
    Kind("description", "text", lambda r, n: q(r.choice(["It's %s", "The %s plan", "%s: see docs"]) % r.choice(WORDS)),
         "''"),
    Kind("status", "varchar(32)", lambda r, n: q(r.choice(STATUSES)), "'pending'",
         "{c} IN (" + ", ".join(q(s) for s in STATUSES) + ")", default="'pending'"),
    Kind("amount_cents", "bigint", lambda r, n: str(r.randint(0, 250000)), "0", "{c} >= 0", default="0"),
    Kind("quantity", "integer", lambda r, n: str(r.randint(0, 500)), "0", "{c} >= 0", default="0"),
    Kind("price", "numeric(12,2)", lambda r, n: "%d.%02d" % (r.randint(0, 9999), r.randint(0, 99)), "0",
         "{c} >= 0", default="0"),
    Kind("is_active", "boolean", lambda r, n: r.choice(["true", "false"]), "true", default="true"),
    Kind("is_verified", "boolean", lambda r, n: r.choice(["true", "false"]), "false", default="false"),
    Kind("metadata", "jsonb", lambda r, n: q('{"source": "seed", "n": %d}' % n), "'{}'::jsonb",
         "jsonb_typeof({c}) = 'object'", default="'{}'::jsonb"),
    Kind("settings", "jsonb", lambda r, n: q('{"theme": "%s"}' % r.choice(WORDS)), "'{}'::jsonb",
         default="'{}'::jsonb"),
    Kind("ip_address", "inet", lambda r, n: q("10.%d.%d.%d" % (r.randint(0, 255), r.randint(0, 255), r.randint(1, 254))),
         "'0.0.0.0'"),
    Kind("external_id", "uuid", lambda r, n: q(_uuid(r)), "gen_random_uuid()", uniq=True, default="gen_random_uuid()"),
    Kind("slug", "varchar(120)", lambda r, n: q("item-%d" % n), "'item-' || id::text", "{c} ~ '^[a-z0-9-]+$'", uniq=True),
    Kind("sku", "varchar(64)", lambda r, n: q("SKU-%08d" % n), "'SKU-' || id::text", uniq=True),
    Kind("code", "varchar(48)", lambda r, n: q("C%d" % n), "'C' || id::text", uniq=True),
    Kind("currency", "char(3)", lambda r, n: q(r.choice(CURRENCIES)), "'USD'", "{c} ~ '^[A-Z]{3}$'", default="'USD'"),
    Kind("country_code", "varchar(2)", lambda r, n: q(r.choice(COUNTRIES)), "'US'", "char_length({c}) = 2"),
    Kind("phone", "varchar(32)", lambda r, n: q("+1555%07d" % n), "'+10000000000'"),
    Kind("locale", "varchar(16)", lambda r, n: q(r.choice(LOCALES)), "'en-US'", default="'en-US'"),
    Kind("timezone", "varchar(64)", lambda r, n: q(r.choice(TIMEZONES)), "'UTC'", default="'UTC'"),
    Kind("tags", "text[]", lambda r, n: "ARRAY[%s, %s]" % (q(r.choice(WORDS)), q(r.choice(WORDS))), "'{}'",
         default="'{}'"),
    Kind("score", "double precision", lambda r, n: "%.3f" % (r.random() * 100), "0"),
    Kind("rating", "smallint", lambda r, n: str(r.randint(1, 5)), "3", "{c} BETWEEN 1 AND 5"),
    Kind("priority", "integer", lambda r, n: str(r.randint(0, 10)), "0", "{c} >= 0", default="0"),
    Kind("sort_order", "integer", lambda r, n: str(n % 1000), "0", default="0"),
    Kind("birth_date", "date", lambda r, n: q("19%d-%02d-%02d" % (r.randint(50, 99), r.randint(1, 12), r.randint(1, 28))),
         "'1970-01-01'"),
    Kind("expires_at", "timestamptz", lambda r, n: "now() + interval '%d days'" % r.randint(1, 365),
         "now() + interval '1 year'"),
    Kind("published_at", "timestamptz", lambda r, n: q("2024-%02d-%02d 12:00:00+00" % (r.randint(1, 12), r.randint(1, 28))),
         "now()"),
    Kind("last_login_at", "timestamp", lambda r, n: q("2024-%02d-%02d 08:30:00" % (r.randint(1, 12), r.randint(1, 28))),
         "now()"),
    Kind("deleted_at", "timestamptz", lambda r, n: "NULL", "NULL", settable=False),
    Kind("payload", "bytea", lambda r, n: q("\\x%08x" % r.getrandbits(32)), "'\\x00'"),
    Kind("version", "integer", lambda r, n: "1", "1", "{c} >= 1", default="1"),
    Kind("balance", "numeric(18,4)", lambda r, n: "%d.%04d" % (r.randint(0, 99999), r.randint(0, 9999)), "0",
         "{c} >= 0", default="0"),
    Kind("weight_grams", "integer", lambda r, n: str(r.randint(1, 20000)), "0", "{c} >= 0"),
    Kind("url", "text", lambda r, n: q("https://example.com/r/%d" % n), "'https://example.invalid/'",
         "{c} LIKE 'http%'"),
    Kind("token", "varchar(128)", lambda r, n: q("tok_%032x" % r.getrandbits(128)), "'tok_' || md5(id::text)", uniq=True),
    Kind("color", "varchar(7)", lambda r, n: q("#%06x" % r.getrandbits(24)), "'#000000'", "{c} ~ '^#[0-9a-f]{6}$'"),
    Kind("notes", "text", lambda r, n: q("note %d" % n), "''"),
]
KIND_BY_NAME = {k.name: k for k in KINDS}
CREATED_AT = Kind("created_at", "timestamptz", lambda r, n: "now()", "now()", default="now()")
UPDATED_AT = Kind("updated_at", "timestamptz", lambda r, n: "now()", "now()", default="now()")
BTREE_TYPES_EXCLUDED = ("jsonb", "text[]", "bytea")


def type_changes(ty):
    """Type changes that succeed on every value this generator writes."""
    if ty.startswith("varchar("):
        n = int(ty[8:-1])
        return [("varchar(%d)" % (n * 2), None), ("text", None)]
    return {
        "integer": [("bigint", None), ("bigint", "{c}::bigint"), ("numeric(14,2)", None)],
        "smallint": [("integer", None), ("integer", "{c}::integer")],
        "text": [("varchar(1000)", None)],
        "timestamp": [("timestamptz", None), ("timestamptz", "{c} AT TIME ZONE 'UTC'")],
        "numeric(12,2)": [("numeric(16,2)", None), ("numeric(18,4)", None)],
        "double precision": [("numeric(20,6)", None)],
        "char(3)": [("varchar(3)", None)],
        "date": [("timestamptz", None)],
    }.get(ty, [])


class Column:
    def __init__(self, name, kind, ty, nullable, has_default, has_nulls=False, ref=None):
        self.name, self.kind, self.ty, self.nullable = name, kind, ty, nullable
        self.has_default, self.has_nulls, self.ref = has_default, has_nulls, ref
        self.frozen = False  # used by a view or a trigger: no type change, rename or drop


class Index:
    def __init__(self, schema, name, table, cols, unique, plain):
        self.schema, self.name, self.table, self.cols, self.unique = schema, name, table, cols, unique
        self.plain = plain  # plain btree on columns: usable for ADD CONSTRAINT … USING INDEX
        self.constraint = False

    @property
    def qname(self):
        return self.name if self.schema == "public" else "%s.%s" % (self.schema, self.name)


class Table:
    def __init__(self, schema, name, singular, pk_type):
        self.schema, self.name, self.singular, self.pk_type = schema, name, singular, pk_type
        self.cols = {}
        self.rows = 0
        self.checks = {}  # explicit CHECK constraint name -> Column
        self.fk_constraints = []  # explicit FK constraint names
        self.views = 0
        self.triggers = set()
        self.dropped = False

    @property
    def qname(self):
        return self.name if self.schema == "public" else "%s.%s" % (self.schema, self.name)

    def col_list(self, pred=lambda c: True):
        return [c for c in self.cols.values() if c.name != "id" and pred(c)]


class Migration:
    """One file's statements, with formatting choices."""

    def __init__(self, gen):
        self.gen = gen
        self.stmts = []
        self.concurrent = False
        self.no_tx = False  # must not be wrapped in BEGIN/COMMIT
        self.no_tx_forbidden = False  # the file is wrapped: no CONCURRENTLY
        self.in_tx_forced = False

    def add(self, sql):
        self.stmts.append(sql)

    def comment(self, text):
        self.stmts.append(("comment", text))

    def count(self):
        return sum(1 for s in self.stmts if not isinstance(s, tuple))


class Generator:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.tables = []  # live and dropped, creation order
        self.live_tables = []  # not dropped, creation order
        self.rel_names = set()  # (schema, name) of tables, views, indexes, sequences, index-backed constraints
        self.con_names = set()  # explicit constraint names (kept globally unique)
        self.indexes = []
        self.schemas = {"public"}
        self.functions = set()
        self.enums = {}  # name -> labels
        self.pending_validate = []  # (table, constraint)
        self.counter = 0
        self.used_bases = {}
        self.file_no = 0

    # ---- naming -------------------------------------------------------------------------

    def n(self):
        self.counter += 1
        return self.counter

    def live(self):
        return self.live_tables

    def fresh_rel(self, schema, name):
        name = name[:MAX_IDENT]
        base, k = name, 2
        while (schema, name) in self.rel_names:
            suffix = "_%d" % k
            name = base[: MAX_IDENT - len(suffix)] + suffix
            k += 1
        self.rel_names.add((schema, name))
        return name

    def fresh_con(self, name):
        name = name[:MAX_IDENT]
        base, k = name, 2
        while name in self.con_names:
            suffix = "_%d" % k
            name = base[: MAX_IDENT - len(suffix)] + suffix
            k += 1
        self.con_names.add(name)
        return name

    def new_table_name(self, schema):
        """A fresh (plural, singular) name: a base, then prefixed / suffixed variants of it."""
        r = self.rng
        for _ in range(8):
            plural, singular = r.choice(BASES)
            variants = [(plural, singular)]
            pre = [("%s_%s" % (p, plural), "%s_%s" % (p, singular)) for p in TABLE_PREFIXES]
            suf = [("%s_%s" % (plural, x), "%s_%s" % (singular, x)) for x in TABLE_SUFFIXES]
            both = [("%s_%s_%s" % (p, plural, x), "%s_%s_%s" % (p, singular, x))
                    for p in TABLE_PREFIXES for x in TABLE_SUFFIXES]
            r.shuffle(pre)
            r.shuffle(suf)
            r.shuffle(both)
            mixed = pre + suf
            r.shuffle(mixed)
            for plural, singular in variants + mixed + both:
                if (schema, plural) not in self.rel_names:
                    self.rel_names.add((schema, plural))
                    return plural, singular
        plural, singular = r.choice(BASES)
        for k in range(2, 10000):
            name = "%s_v%d" % (plural, k)
            if (schema, name) not in self.rel_names:
                self.rel_names.add((schema, name))
                return name, "%s_v%d" % (singular, k)
        raise RuntimeError("out of table names")

    def col_name(self, table, base):
        if base not in table.cols:
            return base
        for _ in range(20):
            name = "%s_%s" % (self.rng.choice(COL_PREFIXES), base)
            if name not in table.cols:
                return name
        return "%s_%d" % (base, self.n())

    # ---- column definitions -------------------------------------------------------------

    def column_def(self, col, kind, inline_checks=True):
        parts = [col.name, col.ty]
        if not col.nullable:
            parts.append("NOT NULL")
        if col.has_default and kind.default is not None:
            parts.append("DEFAULT " + kind.default)
        if inline_checks and kind.check and self.rng.random() < 0.15:
            parts.append("CHECK (%s)" % kind.check.replace("{c}", col.name))
        if kind.uniq and self.rng.random() < 0.3:
            parts.append("UNIQUE")
        return " ".join(parts)

    def pick_kind(self, table):
        for _ in range(10):
            kind = self.rng.choice(KINDS)
            if kind.name not in table.cols or self.rng.random() < 0.3:
                return kind
        return self.rng.choice(KINDS)

    # ---- operations ---------------------------------------------------------------------

    def op_create_schema(self, m, schema):
        if schema not in self.schemas:
            self.schemas.add(schema)
            m.add("CREATE SCHEMA IF NOT EXISTS %s" % schema)

    def op_create_table(self, m, n_cols=None):
        r = self.rng
        schema = r.choice(SCHEMAS)
        self.op_create_schema(m, schema)
        name, singular = self.new_table_name(schema)
        pk_type = "uuid" if r.random() < 0.2 else "bigint"
        t = Table(schema, name, singular, pk_type)
        lines = []
        table_constraints = []
        pk_style = r.random()
        if pk_type == "uuid":
            lines.append("id uuid PRIMARY KEY DEFAULT gen_random_uuid()")
        elif pk_style < 0.5:
            lines.append("id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
        elif pk_style < 0.8:
            lines.append("id bigserial PRIMARY KEY")
        else:
            lines.append("id bigint GENERATED BY DEFAULT AS IDENTITY")
            table_constraints.append("CONSTRAINT %s PRIMARY KEY (id)" % self.fresh_rel(schema, "%s_pk" % name))
        t.cols["id"] = Column("id", None, pk_type, False, True)

        target = n_cols or r.randint(5, 20)
        # foreign keys to earlier tables
        parents = [p for p in self.live() if p.rows >= 0]
        for _ in range(min(len(parents), r.choice([0, 1, 1, 1, 2, 2, 3]))):
            parent = r.choice(parents[-60:] if r.random() < 0.7 else parents)
            base = "%s_id" % parent.singular
            cname = base if base not in t.cols else "%s_%s" % (r.choice(FK_ROLES), base)
            if cname in t.cols or len(cname) > MAX_IDENT:
                continue
            not_null = r.random() < 0.5 and parent.rows == 0
            col = Column(cname, None, parent.pk_type, not not_null, False, ref=parent)
            t.cols[cname] = col
            action = r.choice(["", "", " ON DELETE CASCADE", " ON DELETE SET NULL" if not not_null else " ON DELETE RESTRICT"])
            if r.random() < 0.6:
                lines.append("%s %s%s REFERENCES %s (id)%s" % (cname, parent.pk_type, " NOT NULL" if not_null else "",
                                                                parent.qname, action))
            else:
                lines.append("%s %s%s" % (cname, parent.pk_type, " NOT NULL" if not_null else ""))
                con = self.fresh_con("fk_%s_%s" % (name, cname))
                t.fk_constraints.append(con)
                table_constraints.append("CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (id)%s"
                                         % (con, cname, parent.qname, action))
        while len(t.cols) < target - 2:
            kind = self.pick_kind(t)
            cname = self.col_name(t, kind.name)
            nullable = r.random() < 0.45
            has_default = kind.default is not None and r.random() < 0.7
            if kind.name == "deleted_at":
                nullable, has_default = True, False
            col = Column(cname, kind, kind.ty, nullable, has_default)
            t.cols[cname] = col
            lines.append(self.column_def(col, kind))
        for kind in (CREATED_AT, UPDATED_AT):
            if r.random() < 0.85:
                t.cols[kind.name] = Column(kind.name, kind, kind.ty, False, True)
                lines.append("%s timestamptz NOT NULL DEFAULT now()" % kind.name)
        # table-level constraints
        uniq_cols = [c for c in t.col_list(lambda c: c.kind is not None and c.kind.uniq)]
        fk_cols = [c for c in t.col_list(lambda c: c.ref is not None)]
        if uniq_cols and fk_cols and r.random() < 0.3:
            u, f = r.choice(uniq_cols), r.choice(fk_cols)
            table_constraints.append("CONSTRAINT %s UNIQUE (%s, %s)" % (self.fresh_rel(schema, "uq_%s_%s_%s" % (name, f.name, u.name)),
                                                                          f.name, u.name))
        checked = [c for c in t.col_list(lambda c: c.kind is not None and c.kind.check)]
        if checked and r.random() < 0.35:
            c = r.choice(checked)
            con = self.fresh_con("chk_%s_%s" % (name, c.name))
            t.checks[con] = c
            table_constraints.append("CONSTRAINT %s CHECK (%s)" % (con, c.kind.check.replace("{c}", c.name)))
        body = lines + table_constraints
        ine = "IF NOT EXISTS " if r.random() < 0.2 else ""
        m.add("CREATE TABLE %s%s (\n    %s\n)" % (ine, t.qname, ",\n    ".join(body)))
        self.tables.append(t)
        self.live_tables.append(t)
        return t

    def pick_table(self, pred=lambda t: True, recent_bias=0.6):
        """A live table satisfying `pred`, usually a recent one (migrations touch new tables most)."""
        r = self.rng
        live = self.live_tables
        if not live:
            return None
        if r.random() < recent_bias:
            pool = [t for t in live[-40:] if pred(t)]
            if pool:
                return r.choice(pool)
        for _ in range(40):
            t = r.choice(live)
            if pred(t):
                return t
        pool = [t for t in live if pred(t)]
        return r.choice(pool) if pool else None

    def op_add_column(self, m):
        r = self.rng
        t = self.pick_table()
        if t is None:
            return None
        kind = self.pick_kind(t)
        cname = self.col_name(t, kind.name)
        style = r.random()
        if style < 0.35 and kind.default is not None:
            nullable, has_default = r.random() < 0.3, True
        elif style < 0.5 and t.rows == 0:
            nullable, has_default = False, False
        else:
            nullable, has_default = True, False
        if kind.name == "deleted_at":
            nullable, has_default = True, False
        col = Column(cname, kind, kind.ty, nullable, has_default, has_nulls=(nullable and not has_default and t.rows > 0))
        t.cols[cname] = col
        ine = "IF NOT EXISTS " if r.random() < 0.25 else ""
        defn = self.column_def(col, kind, inline_checks=False)
        m.add("ALTER TABLE %s ADD COLUMN %s%s" % (t.qname, ine, defn))
        return "add_%s_to_%s" % (cname, t.name)

    def op_add_fk(self, m):
        r = self.rng
        if len(self.live()) < 2:
            return None
        child = self.pick_table()
        parents = [p for p in self.live() if p is not child]
        parent = r.choice(parents[-50:])
        base = "%s_id" % parent.singular
        cname = base if base not in child.cols else self.col_name(child, "%s_%s" % (r.choice(FK_ROLES), base))
        if len(cname) > MAX_IDENT:
            return None
        col = Column(cname, None, parent.pk_type, True, False, has_nulls=child.rows > 0, ref=parent)
        child.cols[cname] = col
        con = self.fresh_con("fk_%s_%s" % (child.name, cname))
        child.fk_constraints.append(con)
        m.add("ALTER TABLE %s ADD COLUMN %s %s" % (child.qname, cname, parent.pk_type))
        style = r.random()
        if style < 0.55:
            m.add("ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (id) NOT VALID"
                  % (child.qname, con, cname, parent.qname))
            if r.random() < 0.4:
                m.add("ALTER TABLE %s VALIDATE CONSTRAINT %s" % (child.qname, con))
            else:
                self.pending_validate.append((child, con))
        else:
            on_delete = r.choice(["", " ON DELETE CASCADE", " ON DELETE SET NULL"])
            m.add("ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (id)%s"
                  % (child.qname, con, cname, parent.qname, on_delete))
        if r.random() < 0.45 and not m.no_tx_forbidden:
            self.index_on(m, child, [cname], concurrently=True)
        return "add_%s_fk_to_%s" % (parent.singular, child.name)

    def op_validate_pending(self, m):
        if not self.pending_validate:
            return None
        t, con = self.pending_validate.pop(0)
        if t.dropped or (con not in t.fk_constraints and con not in t.checks):
            return None
        m.add("ALTER TABLE %s VALIDATE CONSTRAINT %s" % (t.qname, con))
        return "validate_%s" % con

    def op_add_check(self, m):
        r = self.rng
        t = self.pick_table(lambda t: any(c.kind is not None and c.kind.check for c in t.cols.values()))
        if t is None:
            return None
        c = r.choice([c for c in t.col_list(lambda c: c.kind is not None and c.kind.check)])
        con = self.fresh_con("chk_%s_%s" % (t.name, c.name))
        expr = c.kind.check.replace("{c}", c.name)
        t.checks[con] = c
        if r.random() < 0.6:
            m.add("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s) NOT VALID" % (t.qname, con, expr))
            if r.random() < 0.5:
                m.add("ALTER TABLE %s VALIDATE CONSTRAINT %s" % (t.qname, con))
            else:
                self.pending_validate.append((t, con))
        else:
            m.add("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s)" % (t.qname, con, expr))
        return "add_%s_check" % c.name

    def op_alter_type(self, m):
        r = self.rng
        cands = []
        for t in self.live()[-80:]:
            for c in t.col_list(lambda c: c.kind is not None and not c.frozen and type_changes(c.ty)):
                cands.append((t, c))
        if not cands:
            return None
        t, c = r.choice(cands)
        new, using = r.choice(type_changes(c.ty))
        sql = "ALTER TABLE %s ALTER COLUMN %s TYPE %s" % (t.qname, c.name, new)
        if using:
            sql += " USING " + using.replace("{c}", c.name)
        m.add(sql)
        c.ty = new
        return "change_%s_%s_type" % (t.name, c.name)

    def op_set_not_null(self, m):
        r = self.rng
        cands = []
        for t in self.live()[-120:]:
            for c in t.col_list(lambda c: c.nullable and c.kind is not None and c.kind.settable and c.ref is None):
                cands.append((t, c))
        if not cands:
            return None
        t, c = r.choice(cands)
        if c.has_nulls:
            self.backfill(m, t, c)
        if r.random() < 0.5:
            con = self.fresh_con("chk_%s_%s_nn" % (t.name, c.name))
            m.add("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID" % (t.qname, con, c.name))
            m.add("ALTER TABLE %s VALIDATE CONSTRAINT %s" % (t.qname, con))
            m.add("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL" % (t.qname, c.name))
            m.add("ALTER TABLE %s DROP CONSTRAINT %s" % (t.qname, con))
        else:
            m.add("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL" % (t.qname, c.name))
        c.nullable = False
        return "make_%s_%s_not_null" % (t.name, c.name)

    def backfill(self, m, t, c):
        r = self.rng
        expr = c.kind.backfill
        style = r.random()
        extra = ", updated_at = now()" if "updated_at" in t.cols and r.random() < 0.4 else ""
        if style < 0.5:
            m.add("UPDATE %s SET %s = %s%s WHERE %s IS NULL" % (t.qname, c.name, expr, extra, c.name))
        else:
            m.add("UPDATE %s SET %s = %s%s\nWHERE id IN (\n    SELECT id FROM %s WHERE %s IS NULL LIMIT %d\n)"
                  % (t.qname, c.name, expr, extra, t.qname, c.name, r.choice([1000, 5000, 10000])))
        c.has_nulls = False

    def op_backfill(self, m):
        cands = []
        for t in self.live()[-150:]:
            for c in t.col_list(lambda c: c.has_nulls and c.kind is not None and c.kind.settable):
                cands.append((t, c))
        if not cands:
            # a data fix-up on a populated table
            t = self.pick_table(lambda t: t.rows > 0 and "status" in t.cols)
            if t is None:
                return None
            m.add("UPDATE %s SET status = 'archived' WHERE status = 'deleted'" % t.qname)
            return "archive_deleted_%s" % t.name
        t, c = self.rng.choice(cands)
        self.backfill(m, t, c)
        return "backfill_%s_%s" % (t.name, c.name)

    def index_on(self, m, t, cols, concurrently, unique=False, extra="", plain=True, name_hint=None):
        r = self.rng
        name = self.fresh_rel(t.schema, name_hint or "%s_%s_%s" % (r.choice(["idx", "ix", "index"]), t.name, "_".join(cols)))
        if len(name) >= MAX_IDENT:
            name = self.fresh_rel(t.schema, "idx_%s_%d" % (t.name[:40], self.n()))
        idx = Index(t.schema, name, t, list(cols), unique, plain and not extra)
        self.indexes.append(idx)
        ine = " IF NOT EXISTS" if r.random() < 0.2 else ""
        conc = " CONCURRENTLY" if concurrently else ""
        if concurrently:
            m.no_tx = True
        col_sql = ", ".join(cols) if "(" not in extra else extra.split("|")[0]
        tail = extra.split("|")[1] if "|" in extra else ""
        m.add("CREATE %sINDEX%s%s %s ON %s (%s)%s" % ("UNIQUE " if unique else "", conc, ine, name, t.qname, col_sql, tail))
        return idx

    def op_create_index(self, m, concurrent_ok=True):
        r = self.rng
        t = self.pick_table(lambda t: len(t.cols) > 1)
        if t is None:
            return None
        conc = concurrent_ok and r.random() < 0.55
        style = r.random()
        btree = t.col_list(lambda c: c.ty not in BTREE_TYPES_EXCLUDED)
        if not btree:
            return None
        if style < 0.35:
            c = r.choice(btree)
            self.index_on(m, t, [c.name], conc)
        elif style < 0.5 and len(btree) > 1:
            a, b = r.sample(btree, 2)
            self.index_on(m, t, [a.name, b.name], conc)
        elif style < 0.6 and ("deleted_at" in t.cols or "status" in t.cols):
            c = r.choice(btree)
            where = " WHERE deleted_at IS NULL" if "deleted_at" in t.cols else " WHERE status = 'active'"
            idx = self.index_on(m, t, [c.name], conc, extra="%s|%s" % (c.name, where), plain=False)
            idx.cols.append("deleted_at" if "deleted_at" in t.cols else "status")
        elif style < 0.7 and t.col_list(lambda c: c.ty in ("jsonb", "text[]")):
            c = r.choice(t.col_list(lambda c: c.ty in ("jsonb", "text[]")))
            idx = self.index_on(m, t, [c.name], conc, plain=False,
                                name_hint="idx_%s_%s_gin" % (t.name, c.name))
            m.stmts[-1] = m.stmts[-1].replace(" ON %s (" % t.qname, " ON %s USING gin (" % t.qname)
            idx.plain = False
        elif style < 0.78 and any(k in t.cols for k in ("email", "username")):
            c = "email" if "email" in t.cols else "username"
            uniq = t.rows == 0 and r.random() < 0.5
            self.index_on(m, t, [c], conc, unique=uniq, extra="(lower(%s))|" % c, plain=False,
                          name_hint="idx_%s_lower_%s" % (t.name, c))
        elif style < 0.9 and t.col_list(lambda c: c.kind is not None and c.kind.uniq and c.ty not in BTREE_TYPES_EXCLUDED):
            c = r.choice(t.col_list(lambda c: c.kind is not None and c.kind.uniq and c.ty not in BTREE_TYPES_EXCLUDED))
            idx = self.index_on(m, t, [c.name], conc, unique=True, name_hint="uq_%s_%s" % (t.name, c.name))
            if r.random() < 0.4 and not m.in_tx_forced:
                con = self.fresh_rel(t.schema, "%s_%s_unique" % (t.name, c.name))
                m.add("ALTER TABLE %s ADD CONSTRAINT %s UNIQUE USING INDEX %s" % (t.qname, con, idx.name))
                self.rel_names.discard((t.schema, idx.name))
                idx.name, idx.constraint = con, True
        else:
            fks = t.col_list(lambda c: c.ref is not None)
            c = r.choice(fks or btree)
            if "created_at" in t.cols and r.random() < 0.4 and c.name != "created_at":
                self.index_on(m, t, [c.name, "created_at"], conc)
                m.stmts[-1] = m.stmts[-1].replace("created_at)", "created_at DESC)")
            elif r.random() < 0.2 and len(btree) > 1:
                inc = r.choice([x for x in btree if x is not c])
                self.index_on(m, t, [c.name], conc, extra="%s|" % c.name, plain=False)
                m.stmts[-1] += " INCLUDE (%s)" % inc.name
                self.indexes[-1].cols.append(inc.name)
            else:
                self.index_on(m, t, [c.name], conc)
        return "add_index_on_%s" % t.name

    def op_drop_index(self, m, concurrent_ok=True):
        r = self.rng
        live = [i for i in self.indexes if not i.constraint and not i.table.dropped]
        if not live:
            return None
        idx = r.choice(live)
        self.indexes.remove(idx)
        self.rel_names.discard((idx.schema, idx.name))
        conc = concurrent_ok and r.random() < 0.6
        if conc:
            m.no_tx = True
        m.add("DROP INDEX%s%s %s" % (" CONCURRENTLY" if conc else "", " IF EXISTS" if r.random() < 0.6 else "", idx.qname))
        return "drop_%s" % idx.name

    def op_rename(self, m):
        r = self.rng
        style = r.random()
        if style < 0.45:
            t = self.pick_table(lambda t: any(not c.frozen for c in t.col_list()))
            if t is None:
                return None
            c = r.choice(t.col_list(lambda c: not c.frozen))
            new = {"name": "full_name", "status": "state", "notes": "internal_notes", "title": "headline",
                   "description": "summary", "phone": "phone_number", "score": "rank_score"}.get(c.name)
            if new is None or new in t.cols:
                new = self.col_name(t, "%s_%s" % (c.name[:40], r.choice(["old", "legacy", "v2", "raw"])))
            m.add("ALTER TABLE %s RENAME COLUMN %s TO %s" % (t.qname, c.name, new))
            del t.cols[c.name]
            for idx in self.indexes:
                if idx.table is t:
                    idx.cols = [new if x == c.name else x for x in idx.cols]
            c.name = new
            t.cols[new] = c
            return "rename_%s_%s" % (t.name, new)
        if style < 0.75:
            live = [i for i in self.indexes if not i.table.dropped and not i.constraint]
            if not live:
                return None
            idx = r.choice(live)
            new = self.fresh_rel(idx.schema, "%s_%s" % (idx.name[:50], r.choice(["old", "v2", "tmp"])))
            self.rel_names.discard((idx.schema, idx.name))
            m.add("ALTER INDEX %s%s RENAME TO %s" % ("IF EXISTS " if r.random() < 0.3 else "", idx.qname, new))
            idx.name = new
            return "rename_index_%s" % new
        t = self.pick_table()
        if t is None:
            return None
        new = self.fresh_rel(t.schema, "%s_%s" % (t.name[:50], r.choice(["legacy", "old", "v2", "archive"])))
        self.rel_names.discard((t.schema, t.name))
        m.add("ALTER TABLE %s RENAME TO %s" % (t.qname, new))
        t.name = new
        return "rename_%s" % new

    def op_comment(self, m):
        r = self.rng
        t = self.pick_table()
        if t is None:
            return None
        for _ in range(r.randint(1, 4)):
            if r.random() < 0.35:
                m.add("COMMENT ON TABLE %s IS %s" % (t.qname, q("%s records; owned by the %s team. Don't write directly."
                                                               % (t.singular.replace("_", " ").title(), r.choice(WORDS)))))
            else:
                c = r.choice(list(t.cols.values()))
                m.add("COMMENT ON COLUMN %s.%s IS %s" % (t.qname, c.name, q("The %s's %s." % (t.singular, c.name.replace("_", " ")))))
        return "document_%s" % t.name

    def op_function(self, m):
        r = self.rng
        style = r.random()
        t = self.pick_table(lambda t: "updated_at" in t.cols and "set_updated_at" not in t.triggers)
        if style < 0.45 and t is not None:
            if "set_updated_at" not in self.functions or r.random() < 0.2:
                self.functions.add("set_updated_at")
                m.add("CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger\nLANGUAGE plpgsql\nAS $$\nBEGIN\n"
                      "    NEW.updated_at := now();\n    RETURN NEW;\nEND;\n$$")
            trg = "trg_%s_set_updated_at" % t.name[:40]
            if r.random() < 0.4:
                m.add("DROP TRIGGER IF EXISTS %s ON %s" % (trg, t.qname))
            m.add("CREATE TRIGGER %s\n    BEFORE UPDATE ON %s\n    FOR EACH ROW\n    EXECUTE FUNCTION set_updated_at()"
                  % (trg, t.qname))
            t.triggers.add("set_updated_at")
            t.cols["updated_at"].frozen = True
            return "add_updated_at_trigger_%s" % t.name
        t = self.pick_table(lambda t: "status" in t.cols)
        if style < 0.75 and t is not None:
            fn = "count_%s_by_status_%d" % (t.name[:30], self.n())
            self.functions.add(fn)
            m.add("CREATE OR REPLACE FUNCTION %s(p_status text)\nRETURNS bigint\nLANGUAGE sql\nSTABLE\nAS $fn$\n"
                  "    SELECT count(*) FROM %s WHERE %s = p_status;\n$fn$" % (fn, t.qname, "status"))
            t.cols["status"].frozen = True
            return "add_%s" % fn
        t = self.pick_table()
        if t is None:
            return None
        fn = "audit_%s_changes_%d" % (t.name[:30], self.n())
        self.functions.add(fn)
        m.add(("CREATE OR REPLACE FUNCTION FN_NAME() RETURNS trigger\nLANGUAGE plpgsql\nAS $body$\nDECLARE\n"
              "    changed_by text := current_setting('app.user', true);\nBEGIN\n"
              "    IF TG_OP = 'DELETE' THEN\n        RAISE NOTICE 'deleted % by %; id=%', TG_TABLE_NAME, changed_by, OLD.id;\n"
              "        RETURN OLD;\n    END IF;\n    -- a comment with a ; semicolon and 'quotes'\n"
              "    RAISE NOTICE '% on %', TG_OP, TG_TABLE_NAME;\n    RETURN NEW;\nEND;\n$body$").replace("FN_NAME", fn))
        trg = "trg_%s_audit" % t.name[:40]
        if trg not in t.triggers:
            t.triggers.add(trg)
            m.add("CREATE TRIGGER %s AFTER INSERT OR UPDATE OR DELETE ON %s\n    FOR EACH ROW EXECUTE FUNCTION %s()"
                  % (trg, t.qname, fn))
        return "add_audit_function_%s" % t.name

    def op_view(self, m):
        r = self.rng
        t = self.pick_table(lambda t: len(t.col_list()) >= 3)
        if t is None:
            return None
        cols = r.sample(t.col_list(), 3)
        name = self.fresh_rel(t.schema, "%s_%s_view" % (r.choice(["active", "recent", "reporting"]), t.name[:40]))
        where = ""
        if "deleted_at" in t.cols:
            where = "\nWHERE deleted_at IS NULL"
            t.cols["deleted_at"].frozen = True
        for c in cols:
            c.frozen = True
        t.views += 1
        qn = name if t.schema == "public" else "%s.%s" % (t.schema, name)
        m.add("CREATE OR REPLACE VIEW %s AS\nSELECT id, %s\nFROM %s%s" % (qn, ", ".join(c.name for c in cols), t.qname, where))
        return "create_view_%s" % name

    def insert_rows(self, t, rows):
        """An INSERT of `rows` rows, or None when the table cannot take seed rows yet."""
        r = self.rng
        cols = []
        for c in t.col_list():
            if c.ref is not None:
                if c.nullable:
                    continue
                if c.ref.rows == 0 or c.ref.dropped:
                    return None
                cols.append(c)
            elif c.kind is not None and c.kind.name in ("created_at", "updated_at") and c.has_default and r.random() < 0.7:
                continue
            else:
                cols.append(c)
        if not cols:
            t.rows += 1
            return "INSERT INTO %s DEFAULT VALUES" % t.qname
        enum_cols = [c for c in cols if c.kind is None and c.ref is None]
        values = []
        for _ in range(rows):
            vals = []
            for c in cols:
                if c.ref is not None:
                    vals.append("(SELECT id FROM %s ORDER BY id LIMIT 1)" % c.ref.qname)
                elif c in enum_cols:
                    vals.append(q(self.enums[c.ty][0]))
                else:
                    vals.append(c.kind.value(r, self.n()))
            values.append("(" + ", ".join(vals) + ")")
        t.rows += rows
        conflict = " ON CONFLICT DO NOTHING" if r.random() < 0.2 else ""
        return "INSERT INTO %s (%s) VALUES\n    %s%s" % (t.qname, ", ".join(c.name for c in cols), ",\n    ".join(values), conflict)

    def op_seed(self, m):
        r = self.rng
        for _ in range(5):
            t = self.pick_table()
            if t is None:
                return None
            sql = self.insert_rows(t, r.choice([1, 1, 2, 3, 5, 8]))
            if sql:
                m.add(sql)
                return "seed_%s" % t.name
        return None

    def op_set_default(self, m):
        t = self.pick_table(lambda t: any(c.kind is not None and c.kind.default for c in t.cols.values()))
        if t is None:
            return None
        c = self.rng.choice(t.col_list(lambda c: c.kind is not None and c.kind.default is not None))
        if c.has_default and self.rng.random() < 0.3:
            m.add("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT" % (t.qname, c.name))
            c.has_default = False
        else:
            m.add("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s" % (t.qname, c.name, c.kind.default))
            c.has_default = True
        return "change_%s_%s_default" % (t.name, c.name)

    def op_drop_column(self, m):
        cands = [(t, c) for t in self.live()[-100:] for c in t.col_list(lambda c: not c.frozen and c.kind is not None)]
        if not cands:
            return None
        t, c = self.rng.choice(cands)
        m.add("ALTER TABLE %s DROP COLUMN %s%s" % (t.qname, "IF EXISTS " if self.rng.random() < 0.4 else "", c.name))
        del t.cols[c.name]
        for idx in list(self.indexes):
            if idx.table is t and c.name in idx.cols:
                self.indexes.remove(idx)
        for con in [k for k, v in t.checks.items() if v is c]:
            del t.checks[con]
        return "drop_%s_%s" % (t.name, c.name)

    def op_drop_table(self, m):
        referenced = {id(c.ref) for t in self.live() for c in t.cols.values() if c.ref is not None}
        cands = [t for t in self.live() if id(t) not in referenced and t.views == 0]
        if len(cands) < 5:
            return None
        t = self.rng.choice(cands[: len(cands) // 2])
        m.add("DROP TABLE%s %s" % (" IF EXISTS" if self.rng.random() < 0.6 else "", t.qname))
        t.dropped = True
        self.live_tables.remove(t)
        # Child FK columns pointing here are gone with their constraints only if CASCADE; we never
        # drop referenced tables, so only the table's own indexes go.
        for idx in list(self.indexes):
            if idx.table is t:
                self.indexes.remove(idx)
        return "drop_%s" % t.name

    def op_enum(self, m):
        r = self.rng
        if self.enums and r.random() < 0.5:
            name = r.choice(sorted(self.enums))
            label = "%s_%d" % (r.choice(WORDS), self.n())
            self.enums[name].append(label)
            m.add("ALTER TYPE %s ADD VALUE IF NOT EXISTS %s" % (name, q(label)))
            return "extend_%s" % name
        t = self.pick_table()
        if t is None:
            return None
        name = self.fresh_rel("public", "%s_state" % t.singular[:40])
        labels = ["new", "processing", "done", "failed"]
        self.enums[name] = labels
        m.add("CREATE TYPE %s AS ENUM (%s)" % (name, ", ".join(q(x) for x in labels)))
        cname = self.col_name(t, "state")
        t.cols[cname] = Column(cname, None, name, False, True)
        m.add("ALTER TABLE %s ADD COLUMN %s %s NOT NULL DEFAULT 'new'" % (t.qname, cname, name))
        t.cols[cname].frozen = True
        return "add_%s" % name

    # ---- files --------------------------------------------------------------------------

    OPS = [
        ("create_table", 7), ("add_column", 15), ("create_index", 12), ("add_fk", 6), ("add_check", 5),
        ("alter_type", 5), ("set_not_null", 4), ("backfill", 5), ("drop_index", 4), ("rename", 3),
        ("comment", 4), ("function", 4), ("seed", 5), ("set_default", 3), ("view", 2), ("drop_column", 2),
        ("drop_table", 1), ("enum", 1), ("validate_pending", 3),
    ]

    def pick_op(self):
        total = sum(w for _, w in self.OPS)
        x = self.rng.uniform(0, total)
        for name, w in self.OPS:
            x -= w
            if x <= 0:
                return name
        return self.OPS[0][0]

    def normal_file(self):
        r = self.rng
        m = Migration(self)
        wrap = r.random() < 0.18
        m.no_tx_forbidden = wrap
        m.in_tx_forced = wrap
        n_ops = r.choice([1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6])
        names = []
        tries = 0
        while len(names) < n_ops and tries < n_ops * 4:
            tries += 1
            op = self.pick_op()
            if not self.live() and op != "create_table":
                op = "create_table"
            fn = getattr(self, "op_" + op)
            if op in ("create_index", "drop_index"):
                name = fn(m, concurrent_ok=not wrap)
            else:
                name = fn(m)
            if isinstance(name, Table):
                name = "create_%s" % name.name
            if name:
                names.append(name)
        return m, names[0] if names else "noop"

    def big_file(self):
        r = self.rng
        m = Migration(self)
        m.no_tx_forbidden = False
        m.in_tx_forced = False
        style = r.choice(["schema", "schema", "seed", "docs", "indexes"]) if self.live() else "schema"
        if style == "schema" or len(self.live()) < 10:
            for _ in range(r.randint(12, 22) if self.file_no == 1 else r.randint(8, 14)):
                t = self.op_create_table(m)
                for _ in range(r.randint(2, 5)):
                    self.op_create_index_on(m, t)
                for _ in range(r.randint(1, 4)):
                    c = r.choice(list(t.cols.values()))
                    m.add("COMMENT ON COLUMN %s.%s IS %s" % (t.qname, c.name, q("%s of the %s" % (c.name, t.singular))))
            return m, "initial_schema" if self.file_no == 1 else "import_%s_schema" % r.choice(WORDS)
        if style == "seed":
            n = 0
            target = r.randint(105, 250)
            tries = 0
            while n < target and tries < target * 3:
                tries += 1
                t = self.pick_table(recent_bias=0.3)
                sql = self.insert_rows(t, r.choice([1, 1, 2]))
                if sql:
                    m.add(sql)
                    n += 1
            return m, "seed_reference_data"
        if style == "docs":
            for _ in range(r.randint(110, 250)):
                self.op_comment(m)
            return m, "document_schema"
        for _ in range(r.randint(100, 160)):
            self.op_create_index(m, concurrent_ok=True)
        return m, "index_sweep"

    def op_create_index_on(self, m, t):
        # plain indexes for a new table in a schema file (not concurrent: the table is empty)
        r = self.rng
        btree = t.col_list(lambda c: c.ty not in BTREE_TYPES_EXCLUDED)
        if not btree:
            return
        fks = t.col_list(lambda c: c.ref is not None)
        c = r.choice(fks) if fks and r.random() < 0.6 else r.choice(btree)
        self.index_on(m, t, [c.name], concurrently=False)

    def render(self, m, wrap, lower):
        r = self.rng
        out = []
        if r.random() < 0.7:
            out.append("-- %s\n" % r.choice(["Migration generated by the schema tool", "Reviewed by the platform team",
                                               "See ticket ENG-%d" % r.randint(100, 9999), "Safe to run online"]))
        if r.random() < 0.1:
            out.append("/*\n * %s\n * Rollback: restore from the previous migration.\n */\n" % r.choice(WORDS).title())
        if wrap:
            out.append("BEGIN;\n\n")
        if r.random() < 0.45:
            out.append("SET %slock_timeout = %s;\n" % ("LOCAL " if wrap and r.random() < 0.5 else "",
                                                     q(r.choice(["2s", "3s", "5s", "10s", "3000ms"]))))
        if r.random() < 0.15:
            out.append("SET statement_timeout TO %s;\n" % q(r.choice(["30s", "5min", "15min"])))
        if out and not out[-1].endswith("\n\n"):
            out.append("\n")
        for s in m.stmts:
            if isinstance(s, tuple):
                out.append("-- %s\n" % s[1])
                continue
            if r.random() < 0.12:
                out.append("-- %s\n" % r.choice(["step", "safe: table is small", "TODO: revisit", "online-safe"]))
            text = s
            if lower:
                text = lowercase_keywords(text)
            out.append(text + ";\n")
            if r.random() < 0.5:
                out.append("\n")
        if not wrap and r.random() < 0.1:
            out.append("RESET lock_timeout;\n")
        if wrap:
            out.append("COMMIT;\n")
        return "".join(out)

    def next_file(self, big):
        self.file_no += 1
        if big:
            m, name = self.big_file()
            wrap = False
        else:
            m, name = self.normal_file()
            wrap = m.no_tx_forbidden
        lower = self.rng.random() < 0.12
        text = self.render(m, wrap and not m.no_tx, lower)
        return slug(name), text, m.count()


LOWER_WORDS = ("CREATE TABLE", "ALTER TABLE", "ADD COLUMN", "NOT NULL", "DEFAULT", "PRIMARY KEY", "REFERENCES",
               "CREATE INDEX", "CREATE UNIQUE INDEX", "CONCURRENTLY", "INSERT INTO", "VALUES", "UPDATE ", " SET ",
               " WHERE ", "DROP INDEX", "IF EXISTS", "IF NOT EXISTS", "ADD CONSTRAINT", "FOREIGN KEY", "CHECK",
               "NOT VALID", "VALIDATE CONSTRAINT", "COMMENT ON", "ALTER COLUMN", " TYPE ", " IS ")


def lowercase_keywords(text):
    # Only outside string literals and dollar bodies: split on quotes, lower the even pieces.
    if "$" in text:
        return text
    pieces = text.split("'")
    for i in range(0, len(pieces), 2):
        for w in LOWER_WORDS:
            pieces[i] = pieces[i].replace(w, w.lower())
    return "'".join(pieces)


def slug(name):
    s = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name.lower())
    return s[:60].strip("_") or "migration"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--big-every", type=int, default=100, help="about one file in this many is large (100+ statements)")
    args = ap.parse_args()

    os.makedirs(args.out_dir, exist_ok=True)
    if any(name.endswith(".sql") for name in os.listdir(args.out_dir)):
        sys.exit("%s already holds .sql files; use an empty directory" % args.out_dir)
    gen = Generator(args.seed)
    width = max(5, len(str(args.count)))
    total_stmts = 0
    total_bytes = 0
    sizes = []
    for i in range(1, args.count + 1):
        big = i == 1 or gen.rng.random() < 1.0 / args.big_every
        name, text, count = gen.next_file(big)
        path = os.path.join(args.out_dir, "%0*d_%s.sql" % (width, i, name))
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        total_stmts += count
        total_bytes += len(text.encode())
        sizes.append(count)
    sizes.sort()
    big = sum(1 for s in sizes if s >= 100)
    small = sum(1 for s in sizes if 1 <= s <= 15)
    print("wrote %d files (%.1f MB, %d statements; median %d per file, %d with 1-15, %d with 100+, max %d) to %s"
          % (args.count, total_bytes / 1e6, total_stmts, sizes[len(sizes) // 2], small, big, sizes[-1], args.out_dir),
          file=sys.stderr)


if __name__ == "__main__":
    main()
