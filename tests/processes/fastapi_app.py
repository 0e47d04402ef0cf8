"""A real FastAPI app behind gyrinx_tracker.asgi.TrackerMiddleware, served by uvicorn in the tests."""

from __future__ import annotations

import os

from fastapi import FastAPI

from gyrinx_tracker import track
from gyrinx_tracker.asgi import TrackerMiddleware

app = FastAPI()


@app.get("/async/{fighter_id}")
async def fighter_async(fighter_id: int) -> dict[str, int]:
    track("api_call", fighter=fighter_id, endpoint="async")
    return {"id": fighter_id, "pid": os.getpid()}


@app.get("/sync/{fighter_id}")
def fighter_sync(fighter_id: int) -> dict[str, int]:
    track("api_call", fighter=fighter_id, endpoint="sync")  # runs in Starlette's thread pool
    return {"id": fighter_id, "pid": os.getpid()}


app.add_middleware(TrackerMiddleware, request_event="http_request")
