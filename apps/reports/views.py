"""Read-only report pages; each also exports CSV with `?format=csv`."""

from __future__ import annotations

import csv
from datetime import timedelta

from django.http import HttpResponse
from django.utils import timezone
from django.views.generic import TemplateView

from apps.accounts.access import DashboardAccessMixin
from apps.core.pagination import paginate
from apps.reports import selectors
from apps.scorecards.models import Scorecard

PAGE_SIZE = 50


def csv_cell(value):
    """Neutralise spreadsheet formulas in text cells (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_response(filename: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return response


def pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def score_pct(score) -> str:
    """An entity score's percentage for CSV; empty when nothing was scored (total possible 0), which is not 0%."""
    return pct(score.percentage) if score.total_possible else ""


def chart_pct(value: float | None) -> float | None:
    """A percentage for Chart.js; None (a gap in the line) when there is none."""
    return None if value is None else round(value * 100, 1)


class ReportView(DashboardAccessMixin, TemplateView):
    """A report page; `?format=csv` answers with `csv_rows()` instead of the page."""

    extra_context = {"nav": "reports"}
    csv_name = "report"
    has_csv = True

    def get(self, request, *args, **kwargs):
        if request.GET.get("format") == "csv" and self.has_csv:
            header, rows = self.csv_rows()
            return csv_response(f"{self.csv_filename()}.csv", header, rows)
        return super().get(request, *args, **kwargs)

    def csv_filename(self) -> str:
        return self.csv_name

    def csv_rows(self) -> tuple[list[str], list]:
        raise NotImplementedError

    def visible_scorecards(self):
        return Scorecard.objects.visible_to(self.request.user).order_by("name")


class ReportsIndexView(ReportView):
    template_name = "reports/index.html"
    has_csv = False

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["scorecards"] = list(self.visible_scorecards().only("tag", "name", "draft"))
        return context


class BirdsEyeView(ReportView):
    """Entities (grouped by owner team) against the rules of one scorecard, each cell a rule state."""

    template_name = "reports/birds_eye.html"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self._scorecard = None

    @property
    def scorecard(self) -> Scorecard:
        if self._scorecard is None:
            self._scorecard = selectors.scorecard_get_visible(user=self.request.user, tag=self.kwargs["scorecard_tag"])
        return self._scorecard

    def csv_filename(self) -> str:
        return f"birds-eye-{self.scorecard.tag}"

    @staticmethod
    def cells(score, rules, states):
        cells = []
        for rule in rules:
            found = states.get((score.entity_id, rule.pk))
            if found is None:
                cells.append({"state": "na", "label": "n/a", "title": "Not applicable"})
                continue
            state, message = found
            title = message or (rule.failure_message if state in ("fail", "error", "no_data", "not_configured") else "")
            label = state.replace("_", " ")
            cells.append({"state": state, "label": label, "title": f"{rule.title}: {label}. {title}".strip()})
        return cells

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        scorecard = self.scorecard
        rules = selectors.birds_eye_rules(scorecard=scorecard)
        page = paginate(self.request, selectors.birds_eye_scores(scorecard=scorecard), PAGE_SIZE)
        states = selectors.rule_states(scorecard_id=scorecard.pk, entity_ids=[s.entity_id for s in page])
        rows = [{"score": s, "team": s.team, "cells": self.cells(s, rules, states)} for s in page]
        context.update(scorecard=scorecard, rules=rules, page_obj=page, rows=rows)
        return context

    def csv_rows(self):
        scorecard = self.scorecard
        rules = selectors.birds_eye_rules(scorecard=scorecard)
        scores = list(selectors.birds_eye_scores(scorecard=scorecard))
        states = selectors.rule_states(scorecard_id=scorecard.pk, entity_ids=[s.entity_id for s in scores])
        header = ["entity", "team", "level", "percentage", *(r.title for r in rules)]
        rows = [
            [
                s.entity.tag,
                s.team,
                s.level.name if s.level else "",
                score_pct(s),
                *(states.get((s.entity_id, r.pk), ("n/a", ""))[0] for r in rules),
            ]
            for s in scores
        ]
        return header, rows


class ExecutiveView(ReportView):
    """Level distribution per scorecard and, for a chosen scorecard, per owner team."""

    template_name = "reports/executive.html"
    csv_name = "executive"

    def chosen(self) -> Scorecard | None:
        tag = self.request.GET.get("scorecard")
        return selectors.scorecard_get_visible(user=self.request.user, tag=tag) if tag else None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = paginate(self.request, self.visible_scorecards(), 20)
        chosen = self.chosen()
        context.update(
            page_obj=page,
            distributions=selectors.level_distribution(scorecards=list(page)),
            chosen=chosen,
            teams=paginate(
                self.request,
                selectors.team_distribution(scorecard=chosen) if chosen else [],
                PAGE_SIZE,
                param="team_page",
            ),
            all_scorecards=list(self.visible_scorecards().only("tag", "name")),
        )
        return context

    def csv_rows(self):
        header = ["scorecard", "team", "level", "entities", "percent_of_in_scope"]
        rows = []
        for scorecard, dist in selectors.level_distribution(scorecards=list(self.visible_scorecards())):
            rows += [[scorecard.tag, "", c.name, c.count, pct(c.share)] for c in dist.counts]
        chosen = self.chosen()
        if chosen:
            for dist in selectors.team_distribution(scorecard=chosen):
                rows += [[chosen.tag, dist.title, c.name, c.count, pct(c.share)] for c in dist.counts]
        return header, rows


class ProgressView(ReportView):
    """Average percentage and level counts per day, per scorecard, optionally for one team."""

    template_name = "reports/progress.html"
    csv_name = "progress"
    per_page = 10

    def params(self):
        team = self.request.GET.get("team", "").strip()
        try:
            days = max(1, min(int(self.request.GET.get("days", 90)), 3660))
        except ValueError:
            days = 90
        return team, days

    def series(self, scorecards):
        team, days = self.params()
        since = (timezone.now() - timedelta(days=days)).date()
        series = selectors.progress_series(scorecards=scorecards, team=team, since=since)
        levels = selectors.levels_by_scorecard([s.pk for s in scorecards])
        return series, levels

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        team, days = self.params()
        page = paginate(self.request, self.visible_scorecards(), self.per_page)
        scorecards = list(page)
        series, levels = self.series(scorecards)
        charts, blocks = {}, []
        for scorecard in scorecards:
            points = series.get(scorecard.pk, [])
            ladder = levels.get(scorecard.pk, [])
            charts[scorecard.tag] = {
                "labels": [p.day.isoformat() for p in points],
                "average": [chart_pct(p.average) for p in points],
                "changes": [chart_pct(p.average) if p.version_changed else None for p in points],
                "levels": [
                    {"name": level.name, "color": level.color, "data": [p.levels.get(level.rank, 0) for p in points]}
                    for level in ladder
                ]
                + [{"name": "No level", "color": "#9f9f9f", "data": [p.levels.get(None, 0) for p in points]}],
            }
            changes = [p for p in points if p.version_changed]
            blocks.append({"scorecard": scorecard, "points": points, "changes": changes})
        context.update(page_obj=page, blocks=blocks, charts=charts, team=team, days=days, teams=selectors.team_names())
        return context

    def csv_rows(self):
        scorecards = list(self.visible_scorecards())
        series, levels = self.series(scorecards)
        header = ["scorecard", "date", "average_percentage", "scorecard_version", "version_changed", "level_counts"]
        rows = []
        for scorecard in scorecards:
            names = {level.rank: level.name for level in levels.get(scorecard.pk, [])}
            for p in series.get(scorecard.pk, []):
                counts = "; ".join(
                    f"{names.get(rank, rank) if rank is not None else 'No level'}: {n}"
                    for rank, n in sorted(p.levels.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
                )
                rows.append([scorecard.tag, p.day.isoformat(), pct(p.average), p.version, p.version_changed, counts])
        return header, rows


class ReportCardView(ReportView):
    """Best, worst and most improved entities and teams on one scorecard."""

    template_name = "reports/report_card.html"

    def params(self):
        tag = self.request.GET.get("scorecard")
        scorecard = selectors.scorecard_get_visible(user=self.request.user, tag=tag) if tag else None
        try:
            days = max(1, min(int(self.request.GET.get("days", 30)), 3660))
        except ValueError:
            days = 30
        return scorecard, days

    def csv_filename(self) -> str:
        scorecard, _ = self.params()
        return f"report-card-{scorecard.tag}" if scorecard else "report-card"

    def data(self, scorecard, days):
        since = timezone.now() - timedelta(days=days)
        return (
            selectors.report_card_entities(scorecard=scorecard, since=since),
            selectors.report_card_teams(scorecard=scorecard, since=since),
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        scorecard, days = self.params()
        context.update(
            scorecard=scorecard, days=days, all_scorecards=list(self.visible_scorecards().only("tag", "name"))
        )
        if scorecard:
            context["entities"], context["teams"] = self.data(scorecard, days)
        return context

    def csv_rows(self):
        scorecard, days = self.params()
        header = ["section", "rank", "kind", "name", "percentage", "change"]
        if scorecard is None:
            return header, []
        entities, teams = self.data(scorecard, days)
        rows = []
        for section, items in entities.items():
            for rank, s in enumerate(items, 1):
                change = getattr(s, "change", None)
                rows.append([section, rank, "entity", s.entity.tag, score_pct(s), pct(change)])
        for section, items in teams.items():
            for rank, t in enumerate(items, 1):
                rows.append([section, rank, "team", t["team"], pct(t["average"]), pct(t["change"])])
        return header, rows


class AllScorecardsView(ReportView):
    """Every active entity against every visible scorecard: level and percentage."""

    template_name = "reports/all_scorecards.html"
    csv_name = "all-scorecards"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        search = self.request.GET.get("q", "").strip()
        scorecards = list(self.visible_scorecards().only("id", "tag", "name"))
        page = paginate(self.request, selectors.all_scorecards_entities(search=search), PAGE_SIZE)
        scores = selectors.scores_for(entity_ids=[e.pk for e in page], scorecard_ids=[s.pk for s in scorecards])
        rows = [{"entity": e, "cells": [scores.get((e.pk, s.pk)) for s in scorecards]} for e in page]
        context.update(scorecards=scorecards, page_obj=page, rows=rows, q=search)
        return context

    def csv_rows(self):
        search = self.request.GET.get("q", "").strip()
        scorecards = list(self.visible_scorecards().only("id", "tag", "name"))
        entities = list(selectors.all_scorecards_entities(search=search))
        scores = selectors.scores_for(entity_ids=[e.pk for e in entities], scorecard_ids=[s.pk for s in scorecards])
        header = ["entity"]
        for s in scorecards:
            header += [f"{s.tag} level", f"{s.tag} percentage"]
        rows = []
        for e in entities:
            row = [e.tag]
            for s in scorecards:
                score = scores.get((e.pk, s.pk))
                row += ["", ""] if score is None else [score.level.name if score.level else "", score_pct(score)]
            rows.append(row)
        return header, rows
