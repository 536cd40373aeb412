"""Django's `compilemessages`, compiling the project's catalogues only.

Django's own walks every folder under the current one, a virtualenv's installed packages
included; like `makemessages`, this one leaves out hidden folders (.venv, .git) and generated ones.
"""

from django.core.management.commands import compilemessages

IGNORED = [".*", "var", "outbox"]


class Command(compilemessages.Command):
    def handle(self, **options):
        options["ignore_patterns"] = [*options["ignore_patterns"], *IGNORED]
        super().handle(**options)
