"""Forms of the public pages: subscribe (with a honeypot) and preferences."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy

from newsletter.models import Language, Repository, Subscriber

# Shown beside the box, and kept with the subscriber as the words they agreed to, in the language
# the page was shown in.
CONSENT = gettext_lazy(
    "I agree to receive AI Infra Daily by email and can unsubscribe at any time with the link in every issue."
)


class RepositoryChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, repository: Repository) -> str:
        return f"{repository.display_name} ({repository.full_name})"


class PreferencesFields(forms.Form):
    repositories = RepositoryChoices(
        queryset=Repository.objects.enabled(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=gettext_lazy("None ticked means all of them."),
    )
    language = forms.ChoiceField(choices=Language.choices)
    format = forms.ChoiceField(choices=Subscriber.Format.choices)


class SubscribeForm(PreferencesFields):
    email = forms.EmailField(max_length=254)
    consent = forms.BooleanField(required=True)
    # Hidden from people by CSS; bots that fill every field fill this one too.
    website = forms.CharField(required=False, widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}))

    field_order = ["email", "repositories", "language", "format", "consent", "website"]

    def __init__(self, *args, language: str | None = None, **kwargs):
        """`language`: the one the form is shown in, which the reader most likely wants to read."""
        super().__init__(*args, **kwargs)
        self.fields["language"].initial = language or settings.REPORT_LANGUAGE
        self.fields["format"].initial = Subscriber.Format.HTML
        self.fields["repositories"].initial = list(Repository.objects.enabled())
        self.fields["consent"].label = CONSENT

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))


class PreferencesForm(PreferencesFields):
    @classmethod
    def for_subscriber(cls, subscriber: Subscriber, data=None) -> PreferencesForm:
        initial = {
            "repositories": list(subscriber.repositories.all()) or list(Repository.objects.enabled()),
            "language": subscriber.language,
            "format": subscriber.format,
        }
        return cls(data=data, initial=initial)
