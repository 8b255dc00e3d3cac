"""Inserting many plain rows fast: COPY on PostgreSQL, executemany on SQLite.

For bulk loads (demo data, imports) where the ORM's per-object work would dominate. The
caller builds tuples in the table's column order and owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Max, Model

# One encoder for every value: json.dumps with options builds a new one on each call.
json_text = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class BulkWriter:
    """Inserts plain tuples fast: COPY on PostgreSQL, executemany elsewhere."""

    def __init__(self) -> None:
        self.vendor = connection.vendor
        self.pg = self.vendor == "postgresql"
        self.sqlite = self.vendor == "sqlite"

    def stamp(self, value: dt.datetime) -> Any:
        if self.pg:
            return value
        return connection.ops.adapt_datetimefield_value(value)

    def day(self, value: dt.date | None) -> Any:
        return None if value is None or self.pg else value.isoformat()

    def reserve_ids(self, model: type[Model], n: int) -> list[int]:
        """``n`` fresh primary keys for ``model`` (call inside the chunk's transaction)."""
        table = model._meta.db_table
        with connection.cursor() as cursor:
            if self.pg:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [table, n],
                )
                return [row[0] for row in cursor.fetchall()]
            start = model._default_manager.aggregate(m=Max("id"))["m"] or 0
            if self.sqlite:
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                row = cursor.fetchone()
                start = max(start, row[0] if row else 0)
        return list(range(start + 1, start + 1 + n))

    def insert(self, model: type[Model], fields: Sequence[str], rows: list[tuple], *, ignore_conflicts: bool = False) -> None:
        """Insert ``rows``; with ``ignore_conflicts`` rows that break a unique rule are skipped."""
        if not rows:
            return
        meta = model._meta
        qn = connection.ops.quote_name
        columns = ", ".join(qn(meta.get_field(f).column) for f in fields)  # type: ignore[union-attr,arg-type]
        table = qn(meta.db_table)
        if ignore_conflicts:
            marks = ", ".join("%s" for _ in fields)
            if self.sqlite:
                sql = f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks.replace('%s', '?')})"  # noqa: S608
                connection.ensure_connection()
                connection.connection.executemany(sql, rows)
                return
            if self.pg:
                # One statement whatever the number of rows: a column of values per array.
                types = [meta.get_field(f).db_type(connection) for f in fields]  # type: ignore[union-attr]
                arrays = ", ".join(f"%s::{t}[]" for t in types)
                sql = f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING"  # noqa: S608
                with connection.cursor() as cursor:
                    cursor.execute(sql, [list(col) for col in zip(*rows, strict=True)])
                return
            sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING"  # noqa: S608
            with connection.cursor() as cursor:
                cursor.executemany(sql, rows)
            return
        if self.pg:
            with (
                connection.cursor() as cursor,
                cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        # Table and column names come from the models, never from input.
        elif self.sqlite:
            marks = ", ".join("?" for _ in fields)
            connection.ensure_connection()
            sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
            connection.connection.executemany(sql, rows)
        else:
            marks = ", ".join("%s" for _ in fields)
            sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
            with connection.cursor() as cursor:
                cursor.executemany(sql, rows)

    def json(self, value: Any) -> Any:
        """A value for a JSON column."""
        return json_text(value)


def rows_in(model: type[Model], key: str, keys: Sequence[Any], columns: Sequence[str], **equal: Any) -> list[tuple]:
    """``columns`` of ``model``'s rows whose ``key`` is in ``keys`` (and whose ``equal``
    columns have those values), ordered by id. Plain SQL, a few hundred keys per query:
    the ORM's handling of IN lists of thousands of values costs more than the query."""
    meta = model._meta
    qn = connection.ops.quote_name
    table = qn(meta.db_table)
    k = qn(meta.get_field(key).column)  # type: ignore[union-attr,arg-type]
    cols = ", ".join(qn(meta.get_field(c).column) for c in columns)  # type: ignore[union-attr,arg-type]
    extra = "".join(f" AND {qn(meta.get_field(n).column)} = %s" for n in equal)  # type: ignore[union-attr,arg-type]
    values = sorted(set(keys))
    out: list[tuple] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and values:
            # One array parameter: parsing and planning thousands of parameters cost more.
            cursor.execute(f"SELECT {cols} FROM {table} WHERE {k} = ANY(%s){extra} ORDER BY id", [values, *equal.values()])  # noqa: S608
            return cursor.fetchall()
        for i in range(0, len(values), 900):
            part = values[i : i + 900]
            marks = ", ".join(["%s"] * len(part))
            # Table and column names come from the model, values are parameters.
            cursor.execute(f"SELECT {cols} FROM {table} WHERE {k} IN ({marks}){extra} ORDER BY id", [*part, *equal.values()])  # noqa: S608
            out += cursor.fetchall()
    return out

