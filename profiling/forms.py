"""Forms and filters for measurement pages, downloads and the API (one definition for all three)."""

from __future__ import annotations

import django_filters
import django_filters.widgets
from django import forms
from django.conf import settings

from profiling.models import LLM, Hardware, ImportBatch, Measurement


class AnyYesNo(django_filters.widgets.BooleanWidget):
    """true/false/1/0 in URLs (API and page alike), shown as Any/Yes/No rather than "Unknown"."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", "Any"), ("true", "Yes"), ("false", "No")]


class MeasurementFilter(django_filters.FilterSet):
    llm = django_filters.ModelChoiceFilter(queryset=LLM.objects.all(), label="LLM")
    hardware = django_filters.ModelChoiceFilter(queryset=Hardware.objects.all())
    import_batch = django_filters.ModelChoiceFilter(queryset=ImportBatch.objects.all(), label="Import batch")
    is_warmup = django_filters.BooleanFilter(label="Warm-up", widget=AnyYesNo)
    is_estimated = django_filters.BooleanFilter(label="Estimated energy", widget=AnyYesNo)
    input_tokens_min = django_filters.NumberFilter(field_name="input_tokens", lookup_expr="gte",
                                                   label="Input tokens ≥")
    input_tokens_max = django_filters.NumberFilter(field_name="input_tokens", lookup_expr="lte",
                                                   label="Input tokens ≤")
    output_tokens_min = django_filters.NumberFilter(field_name="output_tokens", lookup_expr="gte",
                                                    label="Output tokens ≥")
    output_tokens_max = django_filters.NumberFilter(field_name="output_tokens", lookup_expr="lte",
                                                    label="Output tokens ≤")

    class Meta:
        model = Measurement
        fields = ["llm", "hardware", "import_batch", "is_warmup", "is_estimated"]


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text="CSV in the project's columns or the paper's (comma, semicolon or tab; .gz accepted).")
    llm = forms.ModelChoiceField(
        queryset=LLM.objects.all(), required=False, label="LLM",
        help_text="Only for files without an llm/Model column.")
    hardware = forms.ModelChoiceField(
        queryset=Hardware.objects.all(), required=False,
        help_text="Only for files without a hardware/System column.")
    create_missing = forms.BooleanField(
        required=False, label="Create missing LLMs and hardware",
        help_text="Unknown names become new rows (with placeholder details) instead of an error.")
    strict_energy = forms.BooleanField(
        required=False, label="Reject negative energy readings",
        help_text="By default a negative component is dropped from its row with a warning.")
    allow_duplicate = forms.BooleanField(
        required=False, label="Import anyway",
        help_text="Rows an earlier batch already stored are refused (found by content, whatever the file's "
                  "format); tick to import them again.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.MAX_UPLOAD_MB
        if upload.size > limit * 1024 * 1024:
            raise forms.ValidationError(f"The file is {upload.size / 1e6:.0f} MB; the limit is {limit} MB.")
        return upload
