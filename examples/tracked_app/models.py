"""Model events, named at run time as the original's Event model names them."""

from __future__ import annotations

from gyrinx_tracker import track as t


def saved(verb: str, noun: str, user_id: int, action: str) -> None:
    t(f"event_{verb}_{noun}", user_id=str(user_id))
    t(f"event_create_{noun}", user_id="me")  # user_id must be digits
    t("user_event", noun=noun, verb=verb)  # deprecated
    t(f"event_{action}")  # could be event_{verb}_{noun} or not: not checked
