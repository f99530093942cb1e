"""Writes to the dispatch domain. Views, tasks, commands and admin call these."""

from __future__ import annotations

from django.db import connection, transaction

from dispatch import crypto
from dispatch.models import AccessCredential


def access_credentials_reencrypt(*, batch_size: int = 500) -> int:
    """Re-encrypt every stored access secret under the newest key.

    Run after prepending a new key to FIELD_ENCRYPTION_KEYS; once it returns,
    the old key can be removed. Works on the raw tokens so no plaintext is
    held longer than one batch.
    """
    table = AccessCredential._meta.db_table
    updated = 0
    last_id = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, secret FROM {table} WHERE id > %s ORDER BY id LIMIT %s FOR UPDATE",  # noqa: S608
                [last_id, batch_size],
            )
            rows = cursor.fetchall()
            if not rows:
                return updated
            cursor.executemany(
                f"UPDATE {table} SET secret = %s WHERE id = %s",  # noqa: S608
                [(crypto.reencrypt(token), pk) for pk, token in rows],
            )
            updated += len(rows)
            last_id = rows[-1][0]
