from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dispatch import crypto
from dispatch.services.vault import access_credentials_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt stored access codes under the first key of FIELD_ENCRYPTION_KEYS (after a key rotation)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = access_credentials_reencrypt()
        except crypto.InvalidToken:
            raise CommandError(
                "A stored access code could not be decrypted with any key in FIELD_ENCRYPTION_KEYS. "
                "Keep the previous key in the list (after the new one) until this command has run."
            ) from None
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} access codes under the newest key."))
