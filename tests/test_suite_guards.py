"""The suite's own guards hold everywhere, not only under tests/ai (issue 8 item 7)."""

from __future__ import annotations

import pytest
from pydantic_ai import models


def test_real_model_requests_are_refused_in_every_test() -> None:
    assert models.ALLOW_MODEL_REQUESTS is False
    with pytest.raises(RuntimeError, match="Model requests are not allowed"):
        models.check_allow_model_requests()


def test_a_test_may_opt_in_explicitly() -> None:
    with models.override_allow_model_requests(True):
        models.check_allow_model_requests()
    with pytest.raises(RuntimeError):
        models.check_allow_model_requests()
