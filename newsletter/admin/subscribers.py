"""Admin for subscribers (superusers only: it is personal data, with CSV import and export) and deliveries."""

import csv
import re
import smtplib

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

from newsletter import subscriber_csv
from newsletter.models import Delivery, Report, Subscriber


class Echo:
    """A file-like object whose write returns the line: csv.writer into a streaming response."""

    def write(self, value):
        return value


class ImportForm(forms.Form):
    file = forms.FileField(
        required=False,
        label=gettext_lazy("CSV file"),
        help_text=format_lazy(gettext_lazy("UTF-8 CSV: {columns}"), columns=", ".join(subscriber_csv.COLUMNS)),
    )
    text = forms.CharField(required=False, widget=forms.HiddenInput)
    send_confirmations = forms.BooleanField(
        required=False, initial=True, label=gettext_lazy("Email a confirmation link to those without prior consent")
    )

    def csv_text(self) -> str:
        upload = self.cleaned_data.get("file")
        if upload:
            try:
                return upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(gettext("the file is not UTF-8 text")) from None
        if self.cleaned_data.get("text"):
            return self.cleaned_data["text"]
        raise forms.ValidationError(gettext("choose a CSV file"))


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "status", "language", "format", "created_at", "confirmed_at", "hard_bounces"]
    list_filter = ["status", "language", "format", "repositories"]
    search_fields = ["email"]
    filter_horizontal = ["repositories"]
    readonly_fields = [
        "created_at", "confirmed_at", "unsubscribed_at", "status_changed_at", "consent_text", "source_ip"
    ]  # fmt: skip
    actions = ["export_selected"]
    change_list_template = "admin/newsletter/subscriber/change_list.html"

    # Subscribers' data and exports are for superusers only, editors included out.
    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def save_model(self, request, obj, form, change):
        if change and "status" in form.changed_data:
            obj.status_changed_at = timezone.now()  # spends links issued before the change
        super().save_model(request, obj, form, change)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="newsletter_subscriber_import"),
            path("export/", view(self.export_view), name="newsletter_subscriber_export"),
            *super().get_urls(),
        ]

    def _csv_response(self, queryset, name: str) -> StreamingHttpResponse:
        writer = csv.writer(Echo())
        rows = subscriber_csv.export_rows(
            queryset.prefetch_related("repositories").order_by("pk").iterator(chunk_size=2000)
        )
        response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def export_view(self, request):
        if not request.user.is_superuser:
            raise PermissionDenied
        return self._csv_response(Subscriber.objects.all(), f"subscribers-{timezone.now():%Y%m%d}.csv")

    @admin.action(description=gettext_lazy("Export the selected subscribers as CSV"))
    def export_selected(self, request, queryset):
        return self._csv_response(queryset, f"subscribers-selected-{timezone.now():%Y%m%d}.csv")

    def import_view(self, request):
        if not request.user.is_superuser:
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Import subscribers"),
        }
        if request.method == "POST" and form.is_valid():
            try:
                text = form.csv_text()
                rows = subscriber_csv.parse(text)
            except (forms.ValidationError, subscriber_csv.CSVError) as error:
                form.add_error(None, error.messages[0] if hasattr(error, "messages") else str(error))
            else:
                if "confirm" in request.POST:
                    try:
                        counts = subscriber_csv.apply(
                            rows, imported_by=request.user.get_username(),
                            send_confirmations=form.cleaned_data["send_confirmations"],
                        )  # fmt: skip
                    except (smtplib.SMTPException, OSError):
                        self.message_user(request, gettext("Imported, but confirmation emails could not all be sent."),
                                          messages.WARNING)  # fmt: skip
                        return HttpResponseRedirect(reverse("admin:newsletter_subscriber_changelist"))
                    self.message_user(
                        request,
                        gettext(
                            "Imported %(active)s active and %(pending)s awaiting confirmation; "
                            "%(emails)s confirmation emails sent."
                        )
                        % counts,
                    )
                    return HttpResponseRedirect(reverse("admin:newsletter_subscriber_changelist"))
                summary = {}
                for row in rows:
                    summary[row.outcome] = summary.get(row.outcome, 0) + 1
                context.update(rows=rows, summary=summary, text=text,
                               send_confirmations=form.cleaned_data["send_confirmations"])  # fmt: skip
        context["form"] = form
        return TemplateResponse(request, "admin/newsletter/subscriber/import.html", context)


_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>@]+>?")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Deliveries are written by the workers; the editor's part is deciding about `unknown` ones.

    Editors review deliveries by status and counts; who the recipient is, is personal data that
    only superusers see or search (a mail server's refusal often quotes the address, so errors are
    masked for editors too).
    """

    list_filter = ["status", "report"]
    list_select_related = ["subscriber", "report"]
    actions = ["mark_delivered", "send_again"]

    def get_list_display(self, request):
        if request.user.is_superuser:
            return ["subscriber", "report", "status", "attempts", "sent_at", "last_error"]
        return ["recipient", "report", "status", "attempts", "sent_at", "error"]

    def get_search_fields(self, request):
        return ["subscriber__email", "message_id"] if request.user.is_superuser else []

    def get_fields(self, request, obj=None):
        fields = [f.name for f in Delivery._meta.fields if f.name != "id"]
        if not request.user.is_superuser:
            fields = ["recipient" if f == "subscriber" else "error" if f == "last_error" else f for f in fields]
        return fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description=gettext_lazy("recipient"))
    def recipient(self, delivery: Delivery) -> str:
        return gettext("subscriber #%(id)s") % {"id": delivery.subscriber_id}

    @admin.display(description=gettext_lazy("last error"))
    def error(self, delivery: Delivery) -> str:
        return _ADDRESS.sub("<address>", delivery.last_error)

    def has_add_permission(self, request):
        return False

    @admin.action(description=gettext_lazy("Mark as delivered (the subscriber got it)"))
    def mark_delivered(self, request, queryset):
        count = queryset.mark_delivered(timezone.now())
        self.message_user(request, gettext("%(count)s unknown deliveries marked as delivered.") % {"count": count})

    @admin.action(description=gettext_lazy("Send again (only if you are sure the subscriber did not get it)"))
    def send_again(self, request, queryset):
        chosen = queryset.filter(status__in=[Delivery.Status.UNKNOWN, Delivery.Status.FAILED])
        reports = set(chosen.values_list("report_id", flat=True))
        count = chosen.send_again(timezone.now())
        # A sent report with deliveries to make goes back to sending, so the next dispatch picks them up.
        Report.objects.filter(pk__in=reports).send_again()
        queued = gettext("%(count)s deliveries queued again; they go out with the next dispatch.")
        self.message_user(request, queued % {"count": count})
