"""Application code as the original tracker's users wrote it; only the import line changed.

Was: ``from gyrinx.tracker import track``.
"""

from __future__ import annotations

from gyrinx_tracker import track


class User:
    def __init__(self, ident: int, name: str) -> None:
        self.id = ident
        self.name = name


def login(user: User) -> None:
    track("user_login")
    track("user_event", noun="user", verb="login", user_id=str(user.id), username=user.name)


def list_fighters(status: int, elapsed_ms: float) -> None:
    track("api_call", endpoint="/api/v1/fighters", method="GET", status=status)
    track("operation_duration", value=elapsed_ms, operation="list_fighters")


def bulk_import(count: int) -> None:
    track("feature_used", n=count, feature="bulk_import", user_type="premium", items_count=count)
