"""The read-only interface of the mail server (issue 13 point 1): SQL views that Dovecot and
Postfix query, so that they never depend on Django's table names. Documented column by column in
docs/mail-server.md; on PostgreSQL ``manage.py mail_server_grant`` creates the role that may read
only these views.

A mailbox is live while its account ID is live (not retired), its principal is active, and its
address is an ISP one. The password is the principal's own Django hash, presented in Dovecot's
``{ARGON2ID}`` form (libsodium's encoding, which Django's argon2 hasher writes after its
``argon2`` prefix); only Argon2id hashes at p=1 are offered, the one parallelism libsodium
verifies — any other hash is no mail login at all, never a weaker one."""

from django.db import migrations

LIVE_MAILBOX = """
    FROM accounts_accountid a
    JOIN principals_principal p ON p.id = a.principal_id
    JOIN mail_mailaddress m ON m.account_id = a.id AND m.kind = 'isp'
    WHERE a.retired_at IS NULL AND p.is_active
"""

COMMON = [
    f"""CREATE VIEW mailserver_passdb AS
    SELECT a.account_id AS username, '{{ARGON2ID}}' || substr(p.password, 7) AS password
    {LIVE_MAILBOX} AND p.password LIKE 'argon2$argon2id$v=19$%,p=1$%'""",
    f"""CREATE VIEW mailserver_userdb AS
    SELECT a.account_id AS username, m.address AS address, m.quota_bytes AS quota_bytes,
           a.account_id || '/' || m.mailbox_key AS home
    {LIVE_MAILBOX}""",
    """CREATE VIEW mailserver_sieve AS
    SELECT a.account_id AS username, 'active' AS script_name, s.data_id AS id, s.script AS script_data
    FROM mail_sievescript s
    JOIN accounts_accountid a ON a.id = s.account_id
    JOIN mail_mailaddress m ON m.account_id = a.id AND m.kind = 'isp'
    WHERE a.retired_at IS NULL""",
]

DOMAINS = {
    "sqlite": """CREATE VIEW mailserver_domains AS
    SELECT DISTINCT lower(j.value) AS domain FROM core_brand b, json_each(b.mail_domains) j""",
    "postgresql": """CREATE VIEW mailserver_domains AS
    SELECT DISTINCT lower(d.value) AS domain
    FROM core_brand b, jsonb_array_elements_text(b.mail_domains) AS d(value)""",
}

VIEWS = ["mailserver_passdb", "mailserver_userdb", "mailserver_sieve", "mailserver_domains"]


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in [*COMMON, DOMAINS[vendor]]:
        schema_editor.execute(statement, params=None)


def drop(apps, schema_editor):
    for view in VIEWS:
        schema_editor.execute(f"DROP VIEW IF EXISTS {view}", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0004_mailbox_key_and_purge"),
        ("principals", "0001_initial"),
        ("core", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]
