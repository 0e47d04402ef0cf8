"""Views that track events the way the original tracker's application does."""

from __future__ import annotations

import os

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
    return JsonResponse({"id": fighter_id, "pid": os.getpid()})


def broken(request: HttpRequest) -> HttpResponse:
    track("about_to_fail", n="not a number")  # bad input must not turn into a 500
    return HttpResponse("still fine")


async def fighter_async(request: HttpRequest, fighter_id: int) -> HttpResponse:
    track("api_call", endpoint="/async/fighters", fighter=fighter_id, view="async")
    return JsonResponse({"id": fighter_id, "pid": os.getpid()})


def fighter_sync(request: HttpRequest, fighter_id: int) -> HttpResponse:
    track("api_call", endpoint="/sync/fighters", fighter=fighter_id, view="sync")
    return JsonResponse({"id": fighter_id, "pid": os.getpid()})
