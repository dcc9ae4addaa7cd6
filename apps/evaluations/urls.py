from django.urls import path

from apps.evaluations import views

app_name = "evaluations"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
]
