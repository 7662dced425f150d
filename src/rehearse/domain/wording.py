"""How values read to a person: labels, plurals and durations, decided once (issue 11).

The web pages, the Markdown and HTML reports and the CLI all call these, and the
interview room's script formats its ticking clock with the same rule (it receives the
rule's output for the limit and copies its shape), so ``2:05 of 45:00`` reads the
same everywhere.
"""

from __future__ import annotations

from rehearse.domain.reports import DIMENSION_LABELS

#: Every enum value, provider and category as a reader sees it. Values missing here
#: read as their words, first letter capitalised (``junior`` -> ``Junior``).
LABELS: dict[str, str] = {
    # roles
    "backend": "Backend",
    "frontend": "Frontend",
    "fullstack": "Full-stack",
    "data_science": "Data science",
    "ml_engineering": "ML engineering",
    "devops_sre": "DevOps / SRE",
    "mobile": "Mobile",
    "product_management": "Product management",
    # interview types and question categories
    "technical": "Technical",
    "behavioral": "Behavioral",
    "mixed": "Mixed",
    "system_design": "System design",
    "coding": "Coding",
    # communication modes
    "text": "Text",
    "voice": "Voice",
    "whiteboard": "Whiteboard",
    "code": "Code",
    # AI providers
    "offline": "Offline",
    "test": "Test doubles",
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "google": "Google",
    "ollama": "Ollama",
    # question kinds
    "follow_up": "Follow-up",
    **DIMENSION_LABELS,
}


def label(value: object) -> str:
    """The reader's name of an enum value, provider, category or dimension.

    Returns ``-`` for ``None`` or an empty value.
    """
    text = str(getattr(value, "value", value) if value is not None else "")
    if not text:
        return "-"
    known = LABELS.get(text)
    if known is not None:
        return known
    words = text.replace("_", " ")
    return words[:1].upper() + words[1:]


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 question``, ``4 questions``, ``1 more key point``; ``plural_form`` when irregular."""
    word = singular if count == 1 else (plural_form or f"{singular}s")
    return f"{count:,} {word}"


def format_duration(seconds: float | None, *, like: float | None = None) -> str:
    """A duration as a clock reads: ``m:ss``, or ``h:mm:ss`` from one hour on.

    Args:
        seconds: the duration in seconds (rounded; negative reads as 0); ``None`` reads
            ``-``.
        like: another duration shown beside this one (a time limit): when it takes
            hours, this one is written with hours too (``0:01:40 of 3:00:00``), so
            the two read in the same shape.
    """
    if seconds is None:
        return "-"
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours or (like is not None and round(like) >= 3600):
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"
