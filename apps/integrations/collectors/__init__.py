"""One collector per outside source; each turns fact keys of one entity into (value, error) pairs."""

from __future__ import annotations

from apps.integrations.collectors.base import Collector, FactResult, SourceError, failed
from apps.integrations.collectors.git import GitCollector
from apps.integrations.collectors.prometheus import PrometheusCollector
from apps.integrations.collectors.sonarqube import SonarQubeCollector

COLLECTORS: dict[str, type[Collector]] = {
    GitCollector.source: GitCollector,
    SonarQubeCollector.source: SonarQubeCollector,
    PrometheusCollector.source: PrometheusCollector,
}


def configured_sources() -> frozenset[str]:
    """The sources this installation can ask now (a SonarQube URL set, and so on); read once per chunk."""
    return frozenset(source for source, collector in COLLECTORS.items() if collector.configured())


def collector_for(source: str) -> Collector | None:
    """A fresh collector, so per-run state (fetched clones, HTTP connections) is never shared across runs."""
    collector_class = COLLECTORS.get(source)
    return collector_class() if collector_class else None


__all__ = ["COLLECTORS", "Collector", "FactResult", "SourceError", "collector_for", "configured_sources", "failed"]
