from django.apps import AppConfig


class ScorecardsConfig(AppConfig):
    name = "apps.scorecards"
    label = "scorecards"

    def ready(self) -> None:
        from django.conf import settings

        from apps.scorecards.language import jq_sandbox

        # The language itself knows nothing of Django; its jq bounds come from the settings here.
        jq_sandbox.LIMITS = jq_sandbox.Limits(
            timeout_seconds=settings.JQ_TIMEOUT_SECONDS, memory_bytes=settings.JQ_MEMORY_MB << 20
        )
