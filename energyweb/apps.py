from django.apps import AppConfig


class EnergywebConfig(AppConfig):
    name = "energyweb"
    verbose_name = "energyweb"
