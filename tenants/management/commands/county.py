"""`duban county create|list|suspend|resume`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tenants import provisioning
from tenants.models import County


class Command(BaseCommand):
    help = "Create, list, suspend and resume counties (tenants)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,list,suspend,resume,set-rulepack}")
        create = sub.add_parser("create", help="create a county by cloning the template schema")
        create.add_argument("slug", help="host label and identifier, e.g. qingshui → qingshui.<base domain>")
        create.add_argument("--name", required=True, help="the county's name, e.g. 清水县")
        create.add_argument("--city", required=True, dest="city", help="code of the city it belongs to")
        create.add_argument("--rulepack", default=None, help="NAME or NAME==VERSION (default: county_default)")
        create.add_argument("--admin", default="admin", help="user name of the county admin (default: admin)")
        create.add_argument("--admin-password", default=None,
                            help="the admin's password (default: a random one, printed once)")
        sub.add_parser("list", help="list counties")
        pack = sub.add_parser("set-rulepack", help="switch a county to another rule pack (audited)")
        pack.add_argument("slug")
        pack.add_argument("rulepack", help="NAME or NAME==VERSION")
        for verb in ("suspend", "resume"):
            p = sub.add_parser(verb, help=f"{verb} a county (its data is kept)")
            p.add_argument("slug")
            p.add_argument("--reason", default="", help="why (kept in the audit trail)")

    def handle(self, *args, **options):
        try:
            return getattr(self, f"do_{options['action'].replace('-', '_')}")(options)
        except provisioning.ProvisioningError as exc:
            field = f" [{exc.field}]" if exc.field else ""
            raise CommandError(f"{exc}{field}") from None

    def do_create(self, options):
        result = provisioning.create_county(
            options["slug"], options["name"], options["city"], actor="cli",
            rulepack=options["rulepack"], admin_username=options["admin"],
            admin_password=options["admin_password"])
        county = result.county
        self.stdout.write(self.style.SUCCESS(
            f"Created county {county.slug} ({county.name}) in schema {county.schema_name} "
            f"in {result.seconds:.2f}s"))
        self.stdout.write(f"  URL:      {provisioning.county_url(county)}")
        self.stdout.write(f"  rulepack: {county.rulepack_name}=={county.rulepack_version}")
        if result.admin_username:
            self.stdout.write(f"  admin:    {result.admin_username} / {result.admin_password}"
                              + ("" if options["admin_password"] else "   (shown once; change it after login)"))

    def do_list(self, options):
        counties = County.objects.select_related("city").order_by("city__code", "slug")
        rows = [(c.slug, c.name, c.city.code, c.schema_name, f"{c.rulepack_name}=={c.rulepack_version}",
                 c.status, provisioning.county_url(c)) for c in counties]
        headers = ("slug", "name", "city", "schema", "rulepack", "status", "url")
        from rich.console import Console
        from rich.table import Table

        table = Table(*headers, title=f"{len(rows)} counties")
        for row in rows:
            table.add_row(*row)
        Console(file=self.stdout, width=160).print(table)

    def do_suspend(self, options):
        county = provisioning.set_status(options["slug"], County.Status.SUSPENDED, actor="cli",
                                         reason=options["reason"])
        self.stdout.write(self.style.WARNING(f"Suspended {county.slug} ({county.name}); its data is kept."))

    def do_resume(self, options):
        county = provisioning.set_status(options["slug"], County.Status.ACTIVE, actor="cli",
                                         reason=options["reason"])
        self.stdout.write(self.style.SUCCESS(f"Resumed {county.slug} ({county.name})."))

    def do_set_rulepack(self, options):
        county = provisioning.set_rulepack(options["slug"], options["rulepack"], actor="cli")
        self.stdout.write(self.style.SUCCESS(
            f"{county.slug} ({county.name}) now runs {county.rulepack_name}=={county.rulepack_version}; "
            f"existing ledger entries keep the pack that produced them."))
