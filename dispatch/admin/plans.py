"""Admin: import a depot's day from a CSV file (one row per stop), through the same service as the API.

The page hangs off the run list ("Import a plan (CSV)"), for staff who may add
runs. Nothing is saved unless the whole file is valid; every problem is listed
as "Row 14, phone: ...", rows numbered as in a spreadsheet.
"""

from __future__ import annotations

import functools
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template import engines
from django.template.backends.base import BaseEngine
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from dispatch.admin.runs import RunAdmin
from dispatch.models import Depot, Run
from dispatch.services.plans import (
    PLAN_CSV_COLUMNS,
    PLAN_CSV_REQUIRED_COLUMNS,
    PlanConflict,
    PlanCsvInvalid,
    PlanImportResult,
    plan_import_csv,
)

MAX_FILE_BYTES = 20 * 1024 * 1024
SHOWN_ERRORS = 300

CHANGE_LIST = """{% extends "admin/change_list.html" %}
{% block object-tools-items %}
  {% if has_add_permission %}
    <li><a href="{% url 'admin:dispatch_run_import_plan' %}" class="addlink">Import a plan (CSV)</a></li>
  {% endif %}
  {{ block.super }}
{% endblock %}
"""

IMPORT_PAGE = """{% extends "admin/base_site.html" %}
{% load admin_urls static %}
{% block extrahead %}{{ block.super }}<script src="{% url 'admin:jsi18n' %}"></script>{{ media }}{% endblock %}
{% block extrastyle %}{{ block.super }}<link rel="stylesheet" href="{% static 'admin/css/forms.css' %}">{% endblock %}
{% block breadcrumbs %}
<div class="breadcrumbs">
  <a href="{% url 'admin:index' %}">Home</a>
  &rsaquo; <a href="{% url 'admin:app_list' app_label=opts.app_label %}">{{ opts.app_config.verbose_name }}</a>
  &rsaquo; <a href="{% url opts|admin_urlname:'changelist' %}">{{ opts.verbose_name_plural|capfirst }}</a>
  &rsaquo; {{ title }}
</div>
{% endblock %}
{% block content %}
<div id="content-main">
  {% if problems %}
    <p class="errornote">Nothing was saved: the file has {{ problem_count }} problem{{ problem_count|pluralize }}.
      Fix {{ problem_count|pluralize:"it,them" }} and upload the file again.</p>
    <ul class="errorlist" id="plan-problems">
      {% for problem in problems %}<li>{{ problem }}</li>{% endfor %}
      {% if hidden_count %}<li>... and {{ hidden_count }} more.</li>{% endif %}
    </ul>
  {% endif %}
  <form method="post" enctype="multipart/form-data" id="plan_import_form" novalidate>
    {% csrf_token %}
    <fieldset class="module aligned">
      {% for field in form %}
        <div class="form-row{% if field.errors %} errors{% endif %}">
          {{ field.errors }}
          <div class="flex-container">{{ field.label_tag }} {{ field }}</div>
          {% if field.help_text %}<div class="help">{{ field.help_text }}</div>{% endif %}
        </div>
      {% endfor %}
    </fieldset>
    <div class="submit-row"><input type="submit" value="Import" class="default"></div>
  </form>
  <div class="module">
    <h2>The file</h2>
    <p>UTF-8 CSV with a header row, then one row per stop. Rows with the same <code>run_ref</code> form one run; its
      driver and shift are read from its first row (later rows may leave them empty). Times are the depot's
      clock: <code>08:00</code> or <code>2026-11-21 08:00</code> (or ISO 8601 with a UTC offset). Yes/no columns
      take true/false, yes/no or 1/0. An empty cell leaves a stored recipient, address or order value as it is.
      The file replaces the depot's day: unattempted stops it no longer lists are cancelled; stops already
      attempted are never changed.</p>
    <p>Required columns:
      {% for column in required %}<code>{{ column }}</code>{% if not forloop.last %}, {% endif %}{% endfor %}.</p>
    <p>Optional columns:
      {% for column in optional %}<code>{{ column }}</code>{% if not forloop.last %}, {% endif %}{% endfor %}.</p>
  </div>
</div>
{% endblock %}
"""


@functools.cache
def _engine() -> BaseEngine:
    return engines["django"]


class PlanUploadForm(forms.Form):
    depot = forms.ModelChoiceField(queryset=Depot.objects.order_by("name"))
    service_date = forms.DateField(widget=AdminDateWidget, help_text="The day the file replaces.")
    file = forms.FileField(
        label="CSV file",
        help_text=f"One row per stop; at most {MAX_FILE_BYTES // (1024 * 1024)} MB. The columns are listed below.",
    )
    dry_run = forms.BooleanField(required=False, label="Only check", help_text="Validate the file, save nothing.")

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError("The file is larger than 20 MB; split the day or use the API.")
        try:
            return str(upload.read().decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise forms.ValidationError('The file is not UTF-8 text: save it as "CSV UTF-8".') from None


def _summary(result: PlanImportResult) -> str:
    summary = result.summary
    parts = []
    for name in ("runs", "stops", "orders", "recipients", "addresses", "access_codes"):
        counts = ", ".join(f"{value} {label}" for label, value in summary[name].items() if value)
        parts.append(f"{name.replace('_', ' ')}: {counts or 'none'}")
    verb = "Checked (nothing saved)" if result.dry_run else "Imported"
    return f"{verb} the plan for {summary['depot']} on {summary['service_date']}. " + "; ".join(parts) + "."


admin.site.unregister(Run)


@admin.register(Run)
class PlanImportRunAdmin(RunAdmin):
    """The run admin, plus the plan upload page linked from its list."""

    change_list_template = _engine().from_string(CHANGE_LIST)

    def get_urls(self) -> list[URLPattern]:
        upload = path(
            "import-plan/",
            self.admin_site.admin_view(self.import_plan_view),
            name="dispatch_run_import_plan",
        )
        return [upload, *super().get_urls()]

    def import_plan_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PlanUploadForm(request.POST or None, request.FILES or None)
        problems: list[str] = []
        if request.method == "POST" and form.is_valid():
            depot: Depot = form.cleaned_data["depot"]
            try:
                result = plan_import_csv(
                    text=form.cleaned_data["file"],
                    depot=depot,
                    service_date=form.cleaned_data["service_date"],
                    dry_run=form.cleaned_data["dry_run"],
                )
            except PlanCsvInvalid as invalid:
                problems = invalid.messages
            except PlanConflict as conflict:
                messages.error(request, str(conflict))
            else:
                messages.success(request, _summary(result))
                if not result.dry_run:
                    changelist = reverse("admin:dispatch_run_changelist")
                    return HttpResponseRedirect(
                        f"{changelist}?depot__id__exact={depot.pk}"
                        f"&service_date={form.cleaned_data['service_date'].isoformat()}"
                    )
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": "Import a plan (CSV)",
            "opts": self.model._meta,
            "form": form,
            "media": self.media + form.media,
            "problems": problems[:SHOWN_ERRORS],
            "problem_count": len(problems),
            "hidden_count": max(0, len(problems) - SHOWN_ERRORS),
            "required": PLAN_CSV_REQUIRED_COLUMNS,
            "optional": [column for column in PLAN_CSV_COLUMNS if column not in PLAN_CSV_REQUIRED_COLUMNS],
        }
        return TemplateResponse(request, _engine().from_string(IMPORT_PAGE), context)
