"""The per-entity fact store: values collected from outside sources before evaluation."""

from __future__ import annotations

from django.db import models


class FactSource(models.TextChoices):
    GIT = "git", "Git"
    SONARQUBE = "sonarqube", "SonarQube"
    PROMETHEUS = "prometheus", "Prometheus"


class Fact(models.Model):
    """One collected value, e.g. (git, "fileExists:README.md") -> true. `error` set means the source failed."""

    entity = models.ForeignKey("catalog.Entity", on_delete=models.CASCADE, related_name="facts")
    source = models.CharField(max_length=32, choices=FactSource.choices)
    key = models.CharField(max_length=1024)
    value = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    collected_at = models.DateTimeField()

    class Meta:
        ordering = ["entity", "source", "key"]
        constraints = [models.UniqueConstraint(fields=["entity", "source", "key"], name="fact_unique_key")]

    def __str__(self) -> str:
        return f"{self.source}:{self.key}"
