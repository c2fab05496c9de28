"""`duban city create|list`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tenants import provisioning
from tenants.models import City


class Command(BaseCommand):
    help = "Create and list cities."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,list}")
        create = sub.add_parser("create", help="add a city")
        create.add_argument("code", help="short code, e.g. shifan")
        create.add_argument("--name", required=True, help="e.g. 示范市")
        sub.add_parser("list", help="list cities")

    def handle(self, *args, **options):
        if options["action"] == "create":
            try:
                city = provisioning.create_city(options["code"], options["name"], actor="cli")
            except provisioning.ProvisioningError as exc:
                raise CommandError(f"{exc} [{exc.field}]") from None
            self.stdout.write(self.style.SUCCESS(f"Created city {city.code} ({city.name})"))
        else:
            for city in City.objects.order_by("code"):
                self.stdout.write(f"{city.code}\t{city.name}\t{city.counties.count()} counties")
