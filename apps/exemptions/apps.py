from django.apps import AppConfig


class ExemptionsConfig(AppConfig):
    name = "apps.exemptions"
    label = "exemptions"
