"""Admin forms shared across the dispatch admin."""

from __future__ import annotations

from typing import Any

from django import forms


def secret_field(*, label: str, min_length: int | None = None) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        min_length=min_length,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class WriteOnlySecretForm(forms.ModelForm):
    """A model form whose ``secret`` (an encrypted field) is typed in and never shown.

    The current plaintext is dropped from the initial data (a widget could
    render it); the field is required when adding; on change a blank box keeps
    the stored secret instead of overwriting it with an empty one. Declare
    ``secret = secret_field(...)`` and leave "secret" out of ``Meta.fields``.
    """

    help_when_adding = "Encrypted at rest and never shown again."
    help_when_changing = "Leave blank to keep the current value. The current value is never shown."

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The admin builds its form with every fieldset field, "secret" included, so the model value lands here.
        self.initial.pop("secret", None)
        field = self.fields.get("secret")
        if field is None:
            return
        if self.instance._state.adding:
            field.required = True
            field.help_text = self.help_when_adding
        else:
            field.help_text = self.help_when_changing

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean() or {}
        if not cleaned_data.get("secret"):
            # Absent from cleaned_data, the model field is not copied onto the instance: the old secret stays.
            cleaned_data.pop("secret", None)
        return cleaned_data

    def save(self, commit: bool = True) -> Any:
        secret = self.cleaned_data.get("secret")
        if secret:
            self.instance.secret = secret
        return super().save(commit=commit)
