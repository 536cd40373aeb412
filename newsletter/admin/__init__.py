"""The Django admin, one module per area."""

from . import collected, reports, subscribers  # noqa: F401 - importing registers the ModelAdmins
