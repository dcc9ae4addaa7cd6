"""Exemption forms: they validate input only; the services decide and write."""

from __future__ import annotations

from django import forms


class ExemptionRequestForm(forms.Form):
    scorecard = forms.CharField(max_length=255)
    entity = forms.CharField(max_length=255)
    rule = forms.UUIDField()
    reason = forms.CharField(widget=forms.Textarea)
    days = forms.IntegerField(required=False, min_value=0, help_text="Empty: until revoked.")


class ExemptionDecisionForm(forms.Form):
    """Approve, deny or revoke: the services say when the reason is required."""

    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    tab = forms.CharField(required=False, max_length=16)


def form_errors_text(form: forms.Form) -> str:
    """Every form error as one sentence naming its field, for a flash message."""
    parts = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = (field.label or name.replace("_", " ").capitalize()) if field else ""
        text = " ".join(str(e) for e in errors)
        parts.append(f"{label}: {text}" if label else text)
    return " ".join(parts)
