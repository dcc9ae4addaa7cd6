from django.urls import path

from apps.accounts import views

app_name = "accounts"
urlpatterns = [
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/api-keys", views.api_key_new, name="api_key_new"),
    path("accounts/api-keys/<int:key_id>/revoke", views.api_key_revoke_view, name="api_key_revoke"),
]
