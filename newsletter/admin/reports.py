"""The editor's desk: fix the draft, preview it as a subscriber would get it, test-send, approve, dispatch.

Rules: only an approved report is dispatched; editing an approved report withdraws the approval;
once sending has started the report is read-only. Every edit is kept (django-simple-history)
and listed on the report's page.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMultiAlternatives
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST
from simple_history.admin import SimpleHistoryAdmin

from newsletter.mail import link_for
from newsletter.models import Delivery, Report, ReportItem, ReportSection, Subscriber, TableRow
from newsletter.render.email import Variant, active_repositories, personalize, render_email, variant_for
from newsletter.schedule import enqueue_dispatch, schedule_dispatch, withdraw_approval

TEXTAREA = {"widget": forms.Textarea(attrs={"rows": 3, "cols": 100})}


class FrozenAware:
    """Inlines follow their report: editable until sending starts."""

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj and obj.is_frozen)

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SectionInline(FrozenAware, admin.TabularInline):
    model = ReportSection
    fields = ["repository", "order", "assessment"]
    readonly_fields = ["repository"]
    extra = 0

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "assessment":
            kwargs.update(TEXTAREA)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class ItemInline(FrozenAware, admin.StackedInline):
    model = ReportItem
    fk_name = "report"
    verbose_name = "highlight or issue"
    verbose_name_plural = "highlighted commits and issues"
    fields = [
        ("where", "kind", "link", "source"),
        ("category", "risk", "breaking", "hidden", "order"),
        "title",
        "details",
        ("code_path", "code_language"),
        "code_snippet",
        "impact",
    ]
    readonly_fields = ["where", "kind", "link", "source"]
    extra = 0

    def get_queryset(self, request):
        queryset = super().get_queryset(request).exclude(kind=ReportItem.Kind.LISTED)
        return queryset.select_related("section__repository", "commit", "issue").order_by(
            "section__order", "kind", "order"
        )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in ("title", "details", "impact"):
            kwargs.update(TEXTAREA)
        if db_field.name == "code_snippet":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 8, "cols": 100, "style": "font-family: monospace"})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="repository")
    def where(self, item):
        return item.section.repository.display_name

    @admin.display(description="source")
    def link(self, item):
        if item.commit_id:
            return format_html(
                '<a href="{}" target="_blank" rel="noopener">{}</a>', item.commit.html_url, item.commit.short_sha
            )
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">#{}</a>', item.issue.html_url, item.issue.number
        )


class TableRowInline(FrozenAware, admin.TabularInline):
    model = TableRow
    fk_name = "report"
    fields = ["where", "link", "commit_title", "category", "hidden", "order"]
    readonly_fields = ["where", "link", "commit_title"]
    extra = 0

    def get_queryset(self, request):
        queryset = super().get_queryset(request).filter(kind=ReportItem.Kind.LISTED)
        return queryset.select_related("section__repository", "commit").order_by("section__order", "order")

    where = ItemInline.where
    link = ItemInline.link

    @admin.display(description="title")
    def commit_title(self, item):
        return item.commit.title


class PreviewForm(forms.Form):
    repositories = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    output = forms.ChoiceField(choices=[("html", "HTML"), ("markdown", "Markdown")], initial="html",
                               widget=forms.RadioSelect)  # fmt: skip
    subscriber = forms.ModelChoiceField(queryset=Subscriber.objects.none(), required=False,
                                        help_text="Preview exactly as this subscriber would receive it.")  # fmt: skip

    def __init__(self, report: Report, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.report = report
        names = active_repositories(report)
        self.fields["repositories"].choices = [(name, name) for name in names]
        self.fields["repositories"].initial = names
        if user.has_perm("newsletter.view_subscriber"):
            active = Subscriber.objects.filter(status=Subscriber.Status.ACTIVE, language=report.language)
            self.fields["subscriber"].queryset = active.order_by("email")
        else:  # subscribers' data is for superusers; editors preview by variant
            del self.fields["subscriber"]

    def rendered(self):
        """(subject, text, html) as sent, or None with a reason when nothing would be sent."""
        data = self.cleaned_data
        active = active_repositories(self.report)
        person = data.get("subscriber")
        if person:
            followed = [r.full_name for r in person.repositories.all()] or active
            variant = variant_for(self.report, active, followed, self.report.language, person.format)
            if variant is None:
                return None, f"{person.email} follows nothing that moved that day: no email would be sent."
            email = render_email(self.report, variant)
            links = {
                "unsubscribe_url": link_for(person, "unsubscribe"),
                "preferences_url": link_for(person, "preferences"),
            }
            return (email.subject, personalize(email.text, **links), personalize(email.html, **links)), ""
        chosen = tuple(sorted(data.get("repositories") or active))
        if not chosen:
            return None, "No repository had any activity that day: there is nothing to send."
        email = render_email(self.report, Variant(chosen, self.report.language, data["output"]))
        return (email.subject, email.text, email.html), ""


@admin.register(Report)
class ReportAdmin(SimpleHistoryAdmin):
    list_display = ["date", "language", "status", "analyzer", "warning_count", "sent", "failed", "waiting", "unknown"]
    list_filter = ["status", "language", "analyzer"]
    date_hierarchy = "date"
    change_form_template = "admin/newsletter/report/change_form.html"
    inlines = [SectionInline, ItemInline, TableRowInline]
    fieldsets = [
        (None, {"fields": ["summary", "conclusions"]}),
        ("Build", {"classes": ["collapse"], "fields": [
            "status", "analyzer", "model_ids", "prompt_version", "built_at", "approved_by", "approved_at",
            ("llm_calls", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd"),
        ]}),
        ("Edit history", {"fields": ["edit_history"]}),
    ]  # fmt: skip
    readonly_fields = [
        "status", "analyzer", "model_ids", "prompt_version", "built_at", "approved_by", "approved_at", "llm_calls",
        "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd", "edit_history",
    ]  # fmt: skip

    def get_queryset(self, request):
        open_states = [Delivery.Status.PENDING, Delivery.Status.CLAIMED, Delivery.Status.SENDING]
        return (
            super()
            .get_queryset(request)
            .annotate(
                sent=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.SENT)),
                failed=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED)),
                waiting=Count("deliveries", filter=Q(deliveries__status__in=open_states)),
                unknown=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.UNKNOWN)),
            )
        )

    @admin.display(description="warnings")
    def warning_count(self, report):
        return len(report.warnings or [])

    @admin.display(description="sent", ordering="sent")
    def sent(self, report):
        return report.sent

    @admin.display(description="failed", ordering="failed")
    def failed(self, report):
        return report.failed

    @admin.display(description="pending", ordering="waiting")
    def waiting(self, report):
        return report.waiting

    @admin.display(description="unknown (review)", ordering="unknown")
    def unknown(self, report):
        return report.unknown

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in ("summary", "conclusions"):
            kwargs["widget"] = forms.Textarea(attrs={"rows": 8, "cols": 120})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def has_add_permission(self, request):
        return False  # reports come from builds

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj and obj.is_frozen)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and obj.is_frozen)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        edited = form.has_changed() or any(formset.has_changed() for formset in formsets)
        if edited and form.instance.status == Report.Status.APPROVED:
            withdraw_approval(form.instance)
            note = "The report changed after approval: it is a draft again. Approve it again to send it."
            self.message_user(request, note, messages.WARNING)

    @admin.display(description="changes, newest first")
    def edit_history(self, report):
        rows = []
        records = [
            *report.history.all()[:50],
            *ReportSection.history.filter(report_id=report.pk).select_related("history_user")[:100],
            *ReportItem.history.filter(report_id=report.pk).select_related("history_user")[:200],
        ]
        for record in sorted(records, key=lambda r: r.history_date, reverse=True):
            previous = record.prev_record
            if record.history_type != "~" or previous is None:
                continue
            for change in record.diff_against(previous).changes:
                if change.field in ("updated_at", "status", "approved_by", "approved_at"):
                    continue
                rows.append((
                    record.history_date.strftime("%Y-%m-%d %H:%M"),
                    record.history_user or "system",
                    f"{record.instance_type._meta.verbose_name} {record.id}: {change.field}",
                    str(change.old)[:300],
                    str(change.new)[:300],
                ))  # fmt: skip
        if not rows:
            return "No edits yet."
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows[:60])
        return format_html(
            '<table class="edit-history"><tr><th>when</th><th>who</th><th>what</th><th>before</th><th>after</th></tr>'
            "{}</table>",
            body,
        )

    # --- the editor's buttons --------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/preview/", view(self.preview_view), name="newsletter_report_preview"),
            path("<int:pk>/send-test/", view(require_POST(self.send_test_view)), name="newsletter_report_send_test"),
            path("<int:pk>/approve/", view(require_POST(self.approve_view)), name="newsletter_report_approve"),
            path("<int:pk>/dispatch/", view(require_POST(self.dispatch_view)), name="newsletter_report_dispatch"),
            *super().get_urls(),
        ]

    def _report(self, request: HttpRequest, pk: int, permission: str) -> Report:
        report = get_object_or_404(Report, pk=pk)
        if not request.user.has_perm(f"newsletter.{permission}"):
            raise PermissionDenied
        return report

    def _back(self, report: Report) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:newsletter_report_change", args=[report.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        report = self.get_object(request, object_id)
        context = extra_context or {}
        if report is not None:
            counts = dict(report.deliveries.values_list("status").annotate(n=Count("pk")))
            context.update(
                report_obj=report,
                delivery_counts=counts,
                can_approve=request.user.has_perm("newsletter.approve_report") and report.status == Report.Status.DRAFT,
                can_dispatch=request.user.has_perm("newsletter.dispatch_report")
                and report.status in (Report.Status.APPROVED, Report.Status.SENDING),
            )
        return super().change_view(request, object_id, form_url, extra_context=context)

    def preview_view(self, request: HttpRequest, pk: int):
        report = self._report(request, pk, "view_report")
        defaults = {"output": "html", "repositories": active_repositories(report)}
        form = PreviewForm(report, request.user, request.GET or defaults)
        rendered, reason = form.rendered() if form.is_valid() else (None, "")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview: {report}",
            "report": report,
            "opts": self.model._meta,
            "form": form,
            "rendered": rendered,
            "reason": reason,
            "can_send_test": request.user.has_perm("newsletter.send_test_report"),
        }
        return TemplateResponse(request, "admin/newsletter/report/preview.html", context)

    def send_test_view(self, request: HttpRequest, pk: int):
        report = self._report(request, pk, "send_test_report")
        # Back to the same preview: the form's own fields only, never the CSRF token (a URL ends up
        # in the history, logs and Referer headers).
        choices = request.POST.copy()
        choices.pop("csrfmiddlewaretoken", None)
        back = HttpResponseRedirect(
            reverse("admin:newsletter_report_preview", args=[report.pk]) + "?" + choices.urlencode()
        )
        if not request.user.email:
            self.message_user(request, "Your user has no email address: add one to receive tests.", messages.ERROR)
            return back
        form = PreviewForm(report, request.user, request.POST)
        rendered, reason = form.rendered() if form.is_valid() else (None, "invalid choice")
        if rendered is None:
            self.message_user(request, f"Nothing sent: {reason}", messages.ERROR)
            return back
        subject, text, html = rendered
        message = EmailMultiAlternatives(f"[Test] {subject}", text, to=[request.user.email],
                                         headers={"Auto-Submitted": "auto-generated"})  # fmt: skip
        if html:
            message.attach_alternative(html, "text/html")
        try:
            message.send()
        except OSError as error:
            self.message_user(request, f"The mail server refused the test ({type(error).__name__}).", messages.ERROR)
            return back
        self.message_user(request, f"Test sent to {request.user.email}.")
        return back

    def approve_view(self, request: HttpRequest, pk: int):
        report = self._report(request, pk, "approve_report")
        if report.status != Report.Status.DRAFT:
            self.message_user(request, f"Only a draft can be approved; this report is {report.status}.", messages.ERROR)
            return self._back(report)
        report.approve(by=request.user)
        when = schedule_dispatch(report)
        if when is None:
            self.message_user(request, "Approved. Its send time has passed: sending now.")
        else:
            self.message_user(request, f"Approved. It will be sent at {when:%Y-%m-%d %H:%M %Z}.")
        return self._back(report)

    def dispatch_view(self, request: HttpRequest, pk: int):
        report = self._report(request, pk, "dispatch_report")
        if report.status not in (Report.Status.APPROVED, Report.Status.SENDING):
            self.message_user(request, f"Only an approved report is sent; this one is {report.status}.", messages.ERROR)
            return self._back(report)
        enqueue_dispatch(report)
        self.message_user(request, "Dispatch queued: the delivery counts update as it goes.")
        return self._back(report)
