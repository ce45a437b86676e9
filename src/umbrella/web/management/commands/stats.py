import json

from django.core.management import BaseCommand

from umbrella.web.stats import entity_counts


class Command(BaseCommand):
    help = "Counts per entity (organizations by kind, item types, requirements, pledges, ledger entries)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args, **options):
        counts = entity_counts()
        if options["json"]:
            self.stdout.write(json.dumps(counts, indent=2, sort_keys=True))
            return
        for name, value in counts.items():
            if isinstance(value, dict):
                details = ", ".join(
                    f"{key} {count}" for key, count in value.items() if key != "total" and not isinstance(count, dict)
                )
                nested = next((count for count in value.values() if isinstance(count, dict)), None)
                breakdown = ", ".join(f"{key} {count}" for key, count in (nested or {}).items())
                self.stdout.write(f"{name:20} {value['total']:>8}  {breakdown or details}")
            else:
                self.stdout.write(f"{name:20} {value:>8}")
