"""HTTP APIs by protocol: `cortex/` (Cortex-compatible v1) and `datadog/` (Datadog-compatible v2, JSON:API).

Neither holds business logic: both call the same services and selectors as the dashboard.
"""
