"""The Datadog-compatible v2 Scorecards API, JSON:API shaped (API_CONTRACT §3), for `datadog-api-client`."""
