from django.contrib import admin
from django.db import models
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from newsletter.models import CollectRun, Commit, Delivery, Issue, Report, Repository, Subscriber


class ReadOnlyAdmin(admin.ModelAdmin):
    """Collected data mirrors GitHub: it is looked at here, never edited (a re-collect would undo it)."""

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    list_display = ["full_name", "display_name", "default_branch", "enabled", "order"]
    list_editable = ["enabled", "order"]
    list_filter = ["enabled"]
    search_fields = ["owner", "name", "display_name"]


@admin.register(Commit)
class CommitAdmin(ReadOnlyAdmin):
    list_display = ["short_sha", "title", "repository", "author_login", "committed_at", "additions", "deletions", "pr"]
    list_filter = ["repository", ("committed_at", admin.DateFieldListFilter)]
    search_fields = ["sha", "title", "message", "author_name", "author_login"]
    date_hierarchy = "committed_at"
    list_select_related = ["repository"]
    exclude = ["files"]
    readonly_fields = ["file_list"]

    @admin.display(description="PR", ordering="pr_number")
    def pr(self, obj):
        return f"#{obj.pr_number}" if obj.pr_number else ""

    @admin.display(description="Files")
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


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "status", "language", "format", "created_at", "confirmed_at", "hard_bounces"]
    list_filter = ["status", "language", "format", "repositories"]
    search_fields = ["email"]
    filter_horizontal = ["repositories"]
    readonly_fields = ["created_at", "confirmed_at", "unsubscribed_at", "consent_text", "source_ip"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Deliveries are written by the workers; the editor's part is deciding about `unknown` ones."""

    list_display = ["subscriber", "report", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["status", "report"]
    search_fields = ["subscriber__email", "message_id"]
    list_select_related = ["subscriber", "report"]
    actions = ["mark_delivered", "send_again"]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Mark as delivered (the subscriber got it)")
    def mark_delivered(self, request, queryset):
        count = queryset.filter(status=Delivery.Status.UNKNOWN).update(
            status=Delivery.Status.SENT, sent_at=timezone.now()
        )
        self.message_user(request, f"{count} unknown deliveries marked as delivered.")

    @admin.action(description="Send again (only if you are sure the subscriber did not get it)")
    def send_again(self, request, queryset):
        chosen = queryset.filter(status__in=[Delivery.Status.UNKNOWN, Delivery.Status.FAILED])
        reports = set(chosen.values_list("report_id", flat=True))
        count = chosen.update(
            status=Delivery.Status.PENDING, claimed_by="", claimed_at=None, next_attempt_at=timezone.now()
        )
        # A sent report with deliveries to make goes back to sending, so the next dispatch picks them up.
        Report.objects.filter(pk__in=reports, status=Report.Status.SENT).update(status=Report.Status.SENDING)
        self.message_user(request, f"{count} deliveries queued again; they go out with the next dispatch.")
