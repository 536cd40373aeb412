"""The app's public pages: the archive, the feed, subscription links and the health check."""

from django.urls import path, re_path

from newsletter.views import archive, health, subscription

urlpatterns = [
    path("", archive.home, name="home"),
    path("reports/", archive.archive, name="archive"),
    re_path(r"^reports/(?P<day>\d{4}-\d{2}-\d{2})/$", archive.issue, name="issue"),
    re_path(r"^reports/(?P<day>\d{4}-\d{2}-\d{2})\.md$", archive.issue_markdown, name="issue_markdown"),
    path("feed/", archive.feed, name="feed"),
    path("healthz", health.healthz, name="healthz"),
    path("subscribe/", subscription.subscribe, name="subscribe"),
    path("confirm/<str:token>/", subscription.confirm, name="confirm"),
    path("preferences/<str:token>/", subscription.preferences, name="preferences"),
    path("unsubscribe/<str:token>/", subscription.unsubscribe, name="unsubscribe"),
]
