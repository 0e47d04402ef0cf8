"""Views that track events the way the original tracker's application does."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from gyrinx_tracker import track


class Fighter:
    """Stands in for a model instance: the original tracker tracked objects by their ``.id``."""

    def __init__(self, ident: int) -> None:
        self.id = ident

    def __str__(self) -> str:
        raise RuntimeError("would hit the database")


def fighter(request: HttpRequest, fighter_id: int) -> HttpResponse:
    track("api_call", endpoint="/api/v1/fighters", method=request.method, status=200,
          fighter=Fighter(fighter_id), password=request.GET.get("password", ""))
    return JsonResponse({"id": fighter_id})


def broken(request: HttpRequest) -> HttpResponse:
    track("about_to_fail", n="not a number")  # bad input must not turn into a 500
    return HttpResponse("still fine")
