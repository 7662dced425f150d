"""What an AI call costs: the price table of the settings applied to token counts.

Prices are US dollars per million tokens (``REHEARSE_AI_PRICES``, merged over
:data:`rehearse.settings.DEFAULT_AI_PRICES`). A key is ``"provider:model"`` or a
shell-style pattern (``"openai:gpt-4o*"``); an exact key beats a pattern, and a longer
pattern beats a shorter one. A model the table does not know has no cost estimate
(``None``), never a guessed one.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from rehearse.settings import ModelPrice

if TYPE_CHECKING:
    from rehearse.ai.providers import ModelRef


def price_of(ref: ModelRef | str, prices: Mapping[str, ModelPrice]) -> ModelPrice | None:
    """The price of ``ref`` in ``prices``, or ``None`` when no key matches.

    Args:
        ref: a model reference or its ``"provider:model"`` text.
        prices: the price table (keys exact or shell-style patterns).
    """
    key = str(ref)
    if key in prices:
        return prices[key]
    matches = [pattern for pattern in prices if fnmatchcase(key, pattern)]
    if not matches:
        return None
    return prices[max(matches, key=lambda p: (len(p.rstrip("*?")), len(p)))]


def cost_usd(
    ref: ModelRef | str,
    prompt_tokens: int,
    completion_tokens: int,
    prices: Mapping[str, ModelPrice],
) -> float | None:
    """Estimated cost of a call in US dollars, or ``None`` for a model without a price.

    Args:
        ref: the model.
        prompt_tokens: input tokens.
        completion_tokens: output tokens.
        prices: the price table, USD per million tokens.
    """
    price = price_of(ref, prices)
    if price is None:
        return None
    return (prompt_tokens * price.input + completion_tokens * price.output) / 1_000_000
