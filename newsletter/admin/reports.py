"""The editor's desk: fix the draft, preview it as a subscriber would get it, test-send, approve, dispatch.

Rules: only an approved report is dispatched; editing an approved report withdraws the approval;
once sending has started the report is read-only. Every edit is kept (django-simple-history)
and listed on the report's page.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.views.decorators.http import require_POST
from simple_history.admin import SimpleHistoryAdmin

from newsletter.audience import Variant, active_repositories, variant_for
from newsletter.mail import personal_links, test_email
from newsletter.models import (
    Commit,
    Delivery,
    Issue,
    ItemSnippet,
    Report,
    ReportItem,
    ReportSection,
    ReportStatement,
    Subscriber,
    TableRow,
)
from newsletter.models.reports import record_versions
from newsletter.models.transitions import TransitionError
from newsletter.render.email import render_email
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


class StatementFormSet(forms.BaseInlineFormSet):
    kind = ""  # set by the inline: the summary's or the conclusions'

    def save_new(self, form, commit=True):
        form.instance.kind = self.kind
        return self._save(form, commit, update=False)

    def save_existing(self, form, obj, commit=True):
        return self._save(form, commit, update=True)

    def _save(self, form, commit, *, update):
        """The text and the citations as one version in the history, not one per step."""
        if not commit:
            return form.save(commit=False)
        statement = form.save(commit=False)
        statement.skip_history_when_saving = True
        try:
            statement.save()
            form.save_m2m()
        finally:
            del statement.skip_history_when_saving
        record_versions([statement], update=update)
        return statement


class StatementInline(admin.TabularInline):
    """The summary's or the conclusions' sentences: plain text, a bold lead, what each cites.

    Links are built from the cited commits and issues; a variant keeps a sentence only when all
    it cites is of the variant's repositories. An editor may add and remove sentences.
    """

    model = ReportStatement
    formset = StatementFormSet
    kind = ""
    fields = ["order", "lead", "text", "commits", "issues", "legacy"]
    readonly_fields = ["legacy"]
    autocomplete_fields = ["commits", "issues"]  # thousands of rows: searched, never listed
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).filter(kind=self.kind).order_by("order", "pk")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.kind = self.kind
        return formset

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "text":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 3, "cols": 70})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj and obj.is_frozen)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and not (obj and obj.is_frozen)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and obj.is_frozen)


class SummaryInline(StatementInline):
    kind = ReportStatement.Kind.SUMMARY
    verbose_name = gettext_lazy("summary sentence")
    verbose_name_plural = gettext_lazy("Summary (摘要)")


class ConclusionInline(StatementInline):
    kind = ReportStatement.Kind.CONCLUSION
    verbose_name = gettext_lazy("conclusion")
    verbose_name_plural = gettext_lazy("Conclusions (总结)")


class ItemForm(forms.ModelForm):
    # The JSON list of topic slugs, edited as boxes of the analyzers' vocabulary.
    topics = forms.MultipleChoiceField(
        choices=ReportItem.Topic.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ReportItem
        fields = ["topics", "fixed_by"]  # the inline's fieldsets add the others

    def clean_topics(self):
        chosen = set(self.cleaned_data["topics"])
        return [topic for topic in ReportItem.Topic.values if topic in chosen]

    def clean(self):
        data = super().clean()
        if data.get("fixed_by") and self.instance.kind != ReportItem.Kind.ISSUE:
            self.add_error("fixed_by", gettext("Only an issue is fixed by a commit."))
        return data


class ItemInline(FrozenAware, admin.StackedInline):
    model = ReportItem
    form = ItemForm
    fk_name = "report"
    verbose_name = gettext_lazy("highlight or issue")
    verbose_name_plural = gettext_lazy("highlighted commits and issues")
    fields = [
        ("where", "kind", "link", "source"),
        ("category", "risk", "breaking", "hidden", "order"),
        "title",
        "details",
        "snippet_link",
        "impact",
        ("verdict", "breaking_surface"),
        "verdict_reason",
        "topics",
        "fixed_by",
        "selection_reason",
    ]
    readonly_fields = ["where", "kind", "link", "source", "snippet_link", "selection_reason"]
    autocomplete_fields = ["fixed_by"]
    extra = 0

    def get_queryset(self, request):
        queryset = super().get_queryset(request).exclude(kind=ReportItem.Kind.LISTED)
        return (
            queryset.select_related("section__repository", "commit", "issue")
            .annotate(snippet_count=Count("snippets"))
            .order_by("section__order", "kind", "order")
        )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in ("title", "details", "impact", "verdict_reason"):
            kwargs.update(TEXTAREA)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description=gettext_lazy("repository"))
    def where(self, item):
        return item.section.repository.display_name

    @admin.display(description=gettext_lazy("source"))
    def link(self, item):
        if item.commit_id:
            return format_html(
                '<a href="{}" target="_blank" rel="noopener">{}</a>', item.commit.html_url, item.commit.short_sha
            )
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">#{}</a>', item.issue.html_url, item.issue.number
        )

    @admin.display(description=gettext_lazy("code"))
    def snippet_link(self, item):
        if item.kind != ReportItem.Kind.HIGHLIGHT:
            return "-"
        count = getattr(item, "snippet_count", None)
        if count is None:
            label = gettext("edit snippets")
        else:
            label = ngettext("%(count)d snippet: edit", "%(count)d snippets: edit", count) % {"count": count}
        return format_html('<a href="{}">{}</a>', reverse("admin:newsletter_reportitem_change", args=[item.pk]), label)


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

    @admin.display(description=gettext_lazy("title"))
    def commit_title(self, item):
        return item.commit.title


class PreviewForm(forms.Form):
    repositories = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    output = forms.ChoiceField(choices=[("html", "HTML"), ("markdown", "Markdown")], initial="html",
                               widget=forms.RadioSelect)  # fmt: skip
    subscriber = forms.ModelChoiceField(
        queryset=Subscriber.objects.none(),
        required=False,
        help_text=gettext_lazy("Preview exactly as this subscriber would receive it."),
    )

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

    def chosen(self) -> tuple[Variant | None, Subscriber | None, str]:
        """The variant to show (as the chosen subscriber would get it, if any), or None with a reason."""
        data = self.cleaned_data
        active = active_repositories(self.report)
        person = data.get("subscriber")
        if person:
            followed = [r.full_name for r in person.repositories.all()] or active
            variant = variant_for(active, followed, self.report.language, person.format)
            if variant is None:
                nothing = gettext("%(address)s follows nothing that moved that day: no email would be sent.")
                return None, person, nothing % {"address": person.email}
            return variant, person, ""
        chosen = tuple(sorted(data.get("repositories") or active))
        if not chosen:
            return None, None, gettext("No repository had any activity that day: there is nothing to send.")
        return Variant(chosen, self.report.language, data["output"]), None, ""

    def rendered(self):
        """(subject, text, html) as the subscriber (or any reader of the variant) sees it, or None and why."""
        variant, person, reason = self.chosen()
        if variant is None:
            return None, reason
        email = render_email(self.report, variant)
        if person is None:
            return (email.subject, email.text, email.html), ""
        links = personal_links(person)
        return (email.subject, links.substitute(email.text), links.substitute(email.html)), ""


def delivery_count(annotation: str, description):
    """A column of the report list showing one of get_queryset's delivery counts, sortable by it."""

    @admin.display(description=description, ordering=annotation)
    def column(self, report):
        return getattr(report, annotation)

    column.__name__ = annotation
    return column


@admin.register(Report)
class ReportAdmin(SimpleHistoryAdmin):
    list_display = ["date", "language", "status", "analyzer", "warning_count", "sent", "failed", "waiting", "unknown"]
    list_filter = ["status", "language", "analyzer"]
    date_hierarchy = "date"
    change_form_template = "admin/newsletter/report/change_form.html"
    inlines = [SummaryInline, SectionInline, ItemInline, TableRowInline, ConclusionInline]
    fieldsets = [
        (gettext_lazy("Build"), {"classes": ["collapse"], "fields": [
            "status", "analyzer", "model_ids", "prompt_version", "built_at", "approved_by", "approved_at",
            ("llm_calls", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd"),
        ]}),
        (gettext_lazy("Edit history"), {"fields": ["edit_history"]}),
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

    @admin.display(description=gettext_lazy("warnings"))
    def warning_count(self, report):
        return len(report.warnings or [])

    sent = delivery_count("sent", gettext_lazy("sent"))
    failed = delivery_count("failed", gettext_lazy("failed"))
    waiting = delivery_count("waiting", gettext_lazy("pending"))
    unknown = delivery_count("unknown", gettext_lazy("unknown (review)"))

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
            note = gettext("The report changed after approval: it is a draft again. Approve it again to send it.")
            self.message_user(request, note, messages.WARNING)

    @admin.display(description=gettext_lazy("changes, newest first"))
    def edit_history(self, report):
        changes = []
        records = [
            *report.history.all()[:50],
            *ReportStatement.history.filter(report_id=report.pk).select_related("history_user")[:100],
            *ReportSection.history.filter(report_id=report.pk).select_related("history_user")[:100],
            *ReportItem.history.filter(report_id=report.pk).select_related("history_user")[:200],
            *ItemSnippet.history.filter(item__report_id=report.pk).select_related("history_user")[:100],
        ]
        for record in sorted(records, key=lambda r: r.history_date, reverse=True):
            previous = record.prev_record
            if record.history_type != "~" or previous is None:
                continue
            for change in record.diff_against(previous).changes:
                if change.field in ("updated_at", "status", "approved_by", "approved_at"):
                    continue
                changes.append((record, change))
                if len(changes) == 60:
                    break
            if len(changes) == 60:
                break
        if not changes:
            return gettext("No edits yet.")
        cited = _cited_names([change for _, change in changes])
        rows = [
            (
                record.history_date.strftime("%Y-%m-%d %H:%M"),
                record.history_user or gettext("system"),
                f"{record.instance_type._meta.verbose_name} {record.id}: {change.field}",
                _shown(change.old, change.field, cited)[:300],
                _shown(change.new, change.field, cited)[:300],
            )
            for record, change in changes
        ]
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        columns = (gettext("when"), gettext("who"), gettext("what"), gettext("before"), gettext("after"))
        head = format_html_join("", "<th>{}</th>", ((column,) for column in columns))
        return format_html('<table class="edit-history"><tr>{}</tr>{}</table>', head, body)

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
            "title": gettext("Preview: %(report)s") % {"report": report},
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
            no_address = gettext("Your user has no email address: add one to receive tests.")
            self.message_user(request, no_address, messages.ERROR)
            return back
        form = PreviewForm(report, request.user, request.POST)
        variant, person, reason = form.chosen() if form.is_valid() else (None, None, gettext("invalid choice"))
        if variant is None:
            self.message_user(request, gettext("Nothing sent: %(reason)s") % {"reason": reason}, messages.ERROR)
            return back
        # Built like every delivery (same headers, same links), only addressed to the editor.
        message = test_email(report, variant, to=request.user.email, subscriber=person)
        try:
            message.send()
        except OSError as error:
            refused = gettext("The mail server refused the test (%(error)s).") % {"error": type(error).__name__}
            self.message_user(request, refused, messages.ERROR)
            return back
        self.message_user(request, gettext("Test sent to %(address)s.") % {"address": request.user.email})
        return back

    def approve_view(self, request: HttpRequest, pk: int):
        report = self._report(request, pk, "approve_report")
        try:
            report.approve(by=request.user)
        except TransitionError:
            not_draft = gettext("Only a draft can be approved; this report is %(status)s.")
            self.message_user(request, not_draft % {"status": report.status}, messages.ERROR)
            return self._back(report)
        when = schedule_dispatch(report)
        if when is None:
            self.message_user(request, gettext("Approved. Its send time has passed: sending now."))
        else:
            self.message_user(
                request, gettext("Approved. It will be sent at %(when)s.") % {"when": f"{when:%Y-%m-%d %H:%M %Z}"}
            )
        return self._back(report)

    def dispatch_view(self, request: HttpRequest, pk: int):
        report = self._report(request, pk, "dispatch_report")
        if report.status not in (Report.Status.APPROVED, Report.Status.SENDING):
            not_approved = gettext("Only an approved report is sent; this one is %(status)s.")
            self.message_user(request, not_approved % {"status": report.status}, messages.ERROR)
            return self._back(report)
        enqueue_dispatch(report)
        self.message_user(request, gettext("Dispatch queued: the delivery counts update as it goes."))
        return self._back(report)


_CITED = {"commits": "commit", "issues": "issue"}


def _cited_names(changes) -> dict[tuple[str, int], str]:
    """Short SHAs and issue numbers for the citations that changed, in one query per kind."""
    ids: dict[str, set[int]] = {"commit": set(), "issue": set()}
    for change in changes:
        if change.field in _CITED:
            key = _CITED[change.field]
            ids[key].update(row[key] for row in [*(change.old or []), *(change.new or [])])
    commits = Commit.objects.filter(pk__in=ids["commit"]).values_list("pk", "sha")
    issues = Issue.objects.filter(pk__in=ids["issue"]).values_list("pk", "number")
    return {("commit", pk): sha[:7] for pk, sha in commits} | {("issue", pk): f"#{n}" for pk, n in issues}


def _shown(value, field: str, cited: dict) -> str:
    if field in _CITED:  # the rows of a citation table, as simple-history compares them
        key = _CITED[field]
        return ", ".join(cited.get((key, row[key]), "?") for row in value or []) or "-"
    return str(value)


class SnippetInline(admin.StackedInline):
    model = ItemSnippet
    fields = [("order", "path", "language"), "note", "code"]
    extra = 0
    max_num = 3

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "code":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 10, "cols": 100, "style": "font-family: monospace"})
        if db_field.name == "note":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 2, "cols": 100})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj and obj.report.is_frozen)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and not (obj and obj.report.is_frozen)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and obj.report.is_frozen)


@admin.register(ReportItem)
class ReportItemAdmin(admin.ModelAdmin):
    """A highlighted item's own page, for its code snippets; the rest is edited on the report's page."""

    inlines = [SnippetInline]
    fields = ["report_link", "where", "link", "title"]
    readonly_fields = fields

    def get_model_perms(self, request):
        return {}  # reached from a report, not listed on the admin's index

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("report", "section__repository", "commit", "issue")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj and obj.report.is_frozen)

    where = ItemInline.where
    link = ItemInline.link

    @admin.display(description=gettext_lazy("report"))
    def report_link(self, item):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:newsletter_report_change", args=[item.report_id]), item.report
        )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        report = form.instance.report
        if any(formset.has_changed() for formset in formsets) and report.status == Report.Status.APPROVED:
            withdraw_approval(report)
            note = gettext("The report changed after approval: it is a draft again. Approve it again to send it.")
            self.message_user(request, note, messages.WARNING)

    def response_post_save_change(self, request, obj):
        return HttpResponseRedirect(reverse("admin:newsletter_report_change", args=[obj.report_id]))
