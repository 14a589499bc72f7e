"""``manage.py mail_server_grant``: on PostgreSQL, create the mail server's role (MAIL_SERVER_DB_ROLE,
default ``mypage_mail``) if it is missing and let it read the ``mailserver_*`` views and nothing
else. Idempotent; run it after ``migrate`` by a database user that may create roles. The role can
log in; give it a password with ``--password`` (or MAIL_SERVER_DB_PASSWORD) where the server asks
for one. On SQLite there are no roles: Dovecot opens the database file itself."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from psycopg import sql

VIEWS = ("mailserver_passdb", "mailserver_userdb", "mailserver_sieve", "mailserver_domains")


class Command(BaseCommand):
    help = "Create the PostgreSQL role of the mail server and grant it the mailserver_* views only."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--role", default=settings.MAIL_SERVER["DB_ROLE"])
        parser.add_argument("--password", default=settings.MAIL_SERVER["DB_PASSWORD"])

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write("SQLite: no role needed (the mail server opens the database file).")
            return
        role = sql.Identifier(options["role"])
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [options["role"]])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role).as_string(cursor.connection))
            if options["password"]:
                cursor.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}")
                    .format(role, sql.Literal(options["password"]))
                    .as_string(cursor.connection)
                )
            cursor.execute("SELECT current_schema()")
            schema = sql.Identifier(cursor.fetchone()[0])
            cursor.execute(
                sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, role).as_string(cursor.connection)
            )
            for view in VIEWS:
                cursor.execute(
                    sql.SQL("GRANT SELECT ON {} TO {}")
                    .format(sql.Identifier(view), role)
                    .as_string(cursor.connection)
                )
        self.stdout.write(f"role {options['role']}: SELECT on {', '.join(VIEWS)}")
