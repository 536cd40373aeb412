from django.conf import settings


def site(request):
    """What every page template may need: the site's language and address."""
    return {"site_language": settings.REPORT_LANGUAGE, "site_url": settings.SITE_URL}
