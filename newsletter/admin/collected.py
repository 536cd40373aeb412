"""Admin for what we collect: repositories (checked on their host when added), commits, issues, runs."""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.db import models
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, gettext_lazy

from newsletter.models import CollectRun, Commit, DailyRun, Issue, Repository
from sources.base import hosts, source_for
from sources.records import SourceError


class ReadOnlyAdmin(admin.ModelAdmin):
    """Collected data mirrors its host: it is looked at here, never edited (a re-collect would undo it)."""

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class RepositoryForm(forms.ModelForm):
    """A repository to track must exist on its host; its default branch and canonical name are read there."""

    class Meta:
        model = Repository
        fields = ["host", "owner", "name", "display_name", "enabled", "order"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["display_name"].required = False  # the host's name when left empty
        self.fields["host"].error_messages["invalid_choice"] = gettext(
            "No source reads %(value)s; a repository can be on {hosts}."
        ).format(hosts=", ".join(hosts()))

    def clean(self):
        data = super().clean()
        host = data.get("host")
        owner, name = (data.get("owner") or "").strip(), (data.get("name") or "").strip()
        if not host or not owner or not name or self.errors:
            return data
        changed = not self.instance.pk or {"host", "owner", "name"} & set(self.changed_data)
        if changed:
            try:
                found = source_for(host, settings).repository(f"{owner}/{name}")
            except SourceError as error:
                raise forms.ValidationError(f"{host}: {error}") from None
            data["owner"], data["name"] = found.full_name.split("/")
            self.instance.default_branch = found.default_branch
            data["display_name"] = data.get("display_name") or found.full_name.split("/")[1]
            duplicate = Repository.objects.filter(owner__iexact=data["owner"], name__iexact=data["name"])
            if duplicate.exclude(pk=self.instance.pk).exists():
                raise forms.ValidationError(gettext("%(name)s is tracked already") % {"name": found.full_name})
        return data


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    form = RepositoryForm
    list_display = ["full_name", "host", "display_name", "default_branch", "enabled", "order"]
    list_editable = ["enabled", "order"]
    list_filter = ["enabled", "host"]
    search_fields = ["owner", "name", "display_name"]
    readonly_fields = ["default_branch"]


@admin.register(Commit)
class CommitAdmin(ReadOnlyAdmin):
    list_display = ["short_sha", "title", "repository", "author_login", "committed_at", "additions", "deletions", "pr"]
    list_filter = ["repository", ("committed_at", admin.DateFieldListFilter)]
    search_fields = ["sha", "title", "message", "author_name", "author_login"]
    date_hierarchy = "committed_at"
    list_select_related = ["repository"]
    exclude = ["files"]
    readonly_fields = ["file_list"]

    @admin.display(description=gettext_lazy("PR"), ordering="pr_number")
    def pr(self, obj):
        return f"#{obj.pr_number}" if obj.pr_number else ""

    @admin.display(description=gettext_lazy("Files"))
    def file_list(self, obj):
        rows = format_html_join(
            "",
            "<li>{} <code>{}</code> +{} −{}</li>",
            ((f["status"], f["path"], f["additions"], f["deletions"]) for f in obj.files),
        )
        return format_html("<ul>{}</ul>", rows)


@admin.register(Issue)
class IssueAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "title",
        "repository",
        "state",
        "is_pull_request",
        "author_login",
        "comments",
        "created_at",
    ]
    list_filter = ["repository", "state", "is_pull_request", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["title", "body", "author_login", "=number"]
    date_hierarchy = "created_at"
    list_select_related = ["repository"]


@admin.register(CollectRun)
class CollectRunAdmin(ReadOnlyAdmin):
    list_display = [
        "repository",
        "day",
        "status",
        "commits",
        "issues",
        "requests",
        "not_modified",
        "retries",
        "started_at",
        "error",
    ]
    list_filter = ["status", "repository", "day"]
    list_select_related = ["repository"]


@admin.register(DailyRun)
class DailyRunAdmin(ReadOnlyAdmin):
    list_display = ["day", "status", "attempts", "started_at", "finished_at", "error"]
    list_filter = ["status"]
