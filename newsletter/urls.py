from django.contrib import admin
from django.urls import path

from newsletter.views import health, subscription

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("subscribe/", subscription.subscribe, name="subscribe"),
    path("confirm/<str:token>/", subscription.confirm, name="confirm"),
    path("preferences/<str:token>/", subscription.preferences, name="preferences"),
    path("unsubscribe/<str:token>/", subscription.unsubscribe, name="unsubscribe"),
    path("admin/", admin.site.urls),
]
