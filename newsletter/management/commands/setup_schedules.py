from django.core.management.base import BaseCommand

from newsletter.schedule import setup_schedules


class Command(BaseCommand):
    help = "Create or update the django-q2 schedules: the daily build, the daily send, the heartbeat."

    def handle(self, *args, **options):
        for line in setup_schedules():
            self.stdout.write(line)
