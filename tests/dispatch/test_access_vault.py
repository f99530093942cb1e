"""Access codes are encrypted at rest and survive a key rotation."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from dispatch import crypto, models
from tests.factories import AccessCredentialFactory

pytestmark = pytest.mark.django_db


def raw_secret(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM dispatch_accesscredential WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_it_stores_ciphertext_not_the_code():
    credential = AccessCredentialFactory(secret="4821#")
    stored = raw_secret(credential.pk)
    assert "4821" not in stored
    assert stored.startswith("gAAAAA")  # a Fernet token
    assert models.AccessCredential.objects.get(pk=credential.pk).secret == "4821#"


def test_it_encrypts_the_same_code_differently_each_time():
    a = AccessCredentialFactory(secret="4821")
    b = AccessCredentialFactory(secret="4821")
    assert raw_secret(a.pk) != raw_secret(b.pk)


def test_it_reads_old_rows_after_a_new_key_is_put_first(settings):
    credential = AccessCredentialFactory(secret="7734")
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *old_keys]
    assert models.AccessCredential.objects.get(pk=credential.pk).secret == "7734"


def test_it_reencrypts_under_the_new_key_so_the_old_one_can_go(settings):
    credential = AccessCredentialFactory(secret="1990*")
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *old_keys]
    before = raw_secret(credential.pk)

    call_command("reencrypt_secrets", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert raw_secret(credential.pk) != before
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert models.AccessCredential.objects.get(pk=credential.pk).secret == "1990*"


def test_it_cannot_read_rows_once_their_key_is_gone(settings):
    credential = AccessCredentialFactory(secret="5502")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.InvalidToken):
        models.AccessCredential.objects.get(pk=credential.pk)


def test_it_flags_a_code_that_failed_twice():
    credential = AccessCredentialFactory(failure_count=2)
    assert credential.is_flagged
    assert not credential.is_verified


def test_it_never_puts_the_secret_in_its_text():
    credential = AccessCredentialFactory(secret="9999")
    assert "9999" not in str(credential)
    assert "9999" not in repr(credential)
