from django.contrib import admin
from django.urls import path

from newsletter import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
