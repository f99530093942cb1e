from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dispatch.models import ApiToken, Depot, User
from dispatch.services.tokens import api_token_issue


class Command(BaseCommand):
    help = "Issue an API token for a driver's app or an integration, and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="The user the token acts as (a driver for --kind driver).")
        parser.add_argument("--kind", choices=ApiToken.Kind.values, default=ApiToken.Kind.DRIVER)
        parser.add_argument("--name", default="", help='Where the token is used, e.g. "Dave\'s phone".')
        parser.add_argument("--depot", default="", help="Limit an integration token to one depot (its code).")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}; create the user first.")
        kind = options["kind"]
        if kind == ApiToken.Kind.DRIVER and not hasattr(user, "driver"):
            raise CommandError(
                f"{user.username} is not a driver; add a Driver for this user, or use --kind integration."
            )
        depot = None
        if options["depot"]:
            depot = Depot.objects.filter(code=options["depot"]).first()
            if depot is None:
                codes = ", ".join(Depot.objects.values_list("code", flat=True)) or "none yet"
                raise CommandError(f"No depot with code {options['depot']!r}. Known depots: {codes}.")
        _, key = api_token_issue(user=user, kind=kind, name=options["name"] or f"{kind} token", depot=depot)
        self.stdout.write(key)
