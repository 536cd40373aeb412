"""Django's `makemessages`, reading the MJML email templates too and leaving out generated folders.

`python manage.py makemessages -l zh_Hans` then finds every message of the project; references
name the file only, so moving code around does not rewrite the catalogue.
"""

from django.core.management.commands import makemessages

EXTENSIONS = ["html", "txt", "py", "mjml"]
GENERATED = ["var/*", "outbox/*"]  # git ignores them; they may hold anything


class Command(makemessages.Command):
    def handle(self, *args, **options):
        if options["domain"] == "django":
            options["extensions"] = options["extensions"] or EXTENSIONS
        options["ignore_patterns"] = [*options["ignore_patterns"], *GENERATED]
        if options["add_location"] is None:
            options["add_location"] = "file"
        super().handle(*args, **options)
