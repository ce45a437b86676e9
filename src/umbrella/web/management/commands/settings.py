from django.core.management import BaseCommand

from umbrella.config import SETTINGS


class Command(BaseCommand):
    help = "List every environment variable Umbrella reads, with its default and help text."

    def handle(self, *args, **options):
        for setting in SETTINGS:
            self.stdout.write(f"{setting.name}  (default: {setting.default})\n    {setting.help}\n")
