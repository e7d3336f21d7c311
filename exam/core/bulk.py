"""Bulk inserts for imports: ids reserved up front, then rows sent without RETURNING.

Inserting 10,000 ORM rows (or Core rows with ``RETURNING`` to learn their ids) costs far more than the rows
themselves. Here the caller reserves the primary keys first, builds its parent and child rows with them, and
sends each table in one go: ``COPY ... FROM STDIN`` on PostgreSQL (psycopg 3), a plain ``executemany`` elsewhere.
Everything happens on the session's connection, inside its transaction: a later failure rolls it all back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import JSON, Table, func, insert, select, text

from exam.core.db import json_serialiser


def reserve_ids(session, table: Table, count: int) -> list[int]:
    """``count`` new primary keys of ``table`` (an integer ``id`` column), no other writer can take them.

    PostgreSQL: ``nextval`` of the column's sequence, once per id in one query. SQLite: max(id) + 1 onwards,
    read after taking the database's write lock (a no-op UPDATE), which holds until the transaction ends.
    """
    if count <= 0:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return list(session.scalars(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n) AS s(i) "
                 "ORDER BY s.i"),
            {"table": table.name, "n": count}))
    quoted = connection.dialect.identifier_preparer.format_table(table)
    session.execute(text(f"UPDATE {quoted} SET id = id WHERE 0 = 1"))
    start = session.scalar(select(func.max(table.c.id))) or 0
    return list(range(start + 1, start + 1 + count))


def insert_rows(session, table: Table, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert ``rows`` (tuples in the order of ``columns``) into ``table``; the number of rows sent.

    JSON columns take Python values, serialised as SQLAlchemy would (``None`` is JSON null).
    """
    rows = list(rows)
    if not rows:
        return 0
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        serialise = json_serialiser(dialect)
        json_at = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, JSON)]
        if json_at:
            rows = [_with_json(row, json_at, serialise) for row in rows]
        prepare = dialect.identifier_preparer
        names = ", ".join(prepare.quote(name) for name in columns)
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {prepare.format_table(table)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return len(rows)
    session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
    return len(rows)


def _with_json(row: Sequence, positions: list[int], serialise) -> list:
    row = list(row)
    for i in positions:
        row[i] = serialise(row[i])
    return row
