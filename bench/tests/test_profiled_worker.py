"""The profiled worker's statement times: executions of one statement add up under the code that sent it."""

from __future__ import annotations

import pytest
from django.db import connection

from bench.profiled_worker import StatementTimes, shape


def test_literals_and_numbers_do_not_split_a_statement() -> None:
    assert shape("SELECT  *\n FROM t WHERE a = 'x''y' AND b = 42.5") == "SELECT * FROM t WHERE a = ? AND b = ?"
    assert shape("SELECT 1 FROM t2") == "SELECT ? FROM t2"  # a digit inside a name stays


def send(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


@pytest.mark.django_db
def test_statements_are_counted_by_caller_and_shape() -> None:
    statements = StatementTimes()
    with connection.execute_wrapper(statements):
        for number in (1, 2, 3):
            send(f"SELECT {number}")
        send("SELECT 'other' WHERE 1 = 1")
    report = statements.report()
    by_sql = {row["sql"]: row for row in report}
    assert by_sql["SELECT ?"]["count"] == 3 and by_sql["SELECT ? WHERE ? = ?"]["count"] == 1
    assert by_sql["SELECT ?"]["caller"].startswith("bench/tests/test_profiled_worker.py:")
    assert by_sql["SELECT ?"]["caller"].endswith(" send")
    assert all(row["seconds"] >= 0 for row in report)
