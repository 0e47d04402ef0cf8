"""URL patterns: the route, not the path, becomes the request event's label."""

from django.urls import path

from tests.django_app import views

urlpatterns = [
    path("api/v1/fighters/<int:fighter_id>", views.fighter),
    path("broken", views.broken),
    path("async/fighters/<int:fighter_id>", views.fighter_async),
    path("sync/fighters/<int:fighter_id>", views.fighter_sync),
]
