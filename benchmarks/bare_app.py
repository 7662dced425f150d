"""The baseline of ``bench_http.py``: a bare FastAPI app with one session-sized JSON endpoint.

    uv run python -m uvicorn bare_app:app --app-dir benchmarks --port 8001

``GET /items/{item_id}`` has the shape of rehearse's ``GET /api/v1/sessions/{id}``: a
synchronous handler (so FastAPI runs it in the thread pool), one path parameter, and a
``dict[str, Any]`` return of about the same size (~1.3 KB of JSON) and nesting. It has
no middleware, no dependencies and no storage: what is left is the cost of uvicorn,
Starlette and FastAPI themselves.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI(title="bare")

BODY: dict[str, Any] = {
    "status": "active",
    "version": 2,
    "config": {
        "candidate_name": "Bench Candidate",
        "candidate_email": None,
        "role": "backend",
        "level": "mid",
        "interview_type": "mixed",
        "mode": "practice",
        "time_limit_minutes": 45,
        "token_budget": 50000,
        "token_warning_threshold": 0.8,
        "ai_provider": "offline",
        "ai_model": "default",
        "enabled_modes": ["text"],
        "challenge_text": None,
        "job_description": None,
        "resume_text": None,
        "question_count": 30,
        "max_follow_ups": 0,
        "plan_seed": None,
    },
    "created_by": "local",
    "candidate_id": None,
    "created_at": "2026-01-01T10:00:00.000000+00:00",
    "updated_at": "2026-01-01T10:00:01.000000+00:00",
    "started_at": "2026-01-01T10:00:01.000000+00:00",
    "ended_at": None,
    "deadline_at": "2026-01-01T10:45:01.000000+00:00",
    "active_seconds": 12.5,
    "remaining_seconds": 2687,
    "time_limit_seconds": 2700,
    "prompt_tokens": 0,
    "completion_tokens": 0,
    "tokens_used": 0,
    "token_budget": 50000,
    "remaining_tokens": 50000,
    "progress": {"total": 30, "answered": 0, "skipped": 0, "pending": 30, "follow_ups": 0},
    "report_status": None,
    "current_question": {
        "id": "beh-simplifying-complex-system",
        "question_id": "beh-simplifying-complex-system",
        "kind": "question",
        "text": "Tell me about a time you made a complex system or process simpler. "
        "What did you remove and why?",
        "category": "behavioral",
        "parent_id": None,
        "answer_time_seconds": 180,
        "status": "pending",
        "attempts": 0,
        "score": None,
    },
}


@app.get("/items/{item_id}")
def get_item(item_id: str) -> dict[str, Any]:
    """A fixed session-shaped dict carrying the requested id."""
    return {"id": item_id, **BODY}
