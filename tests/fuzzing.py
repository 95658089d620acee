"""Hypothesis settings of the fuzz tests (tests/test_fuzz_*.py): a few seconds in all.

Under CI (``CI=true``) every run draws the same examples (derandomized, no example database),
so a red CI is reproducible and never a matter of luck. Elsewhere each run draws new examples
and remembers failing ones in ``.hypothesis/``, so a developer's runs keep exploring.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

CI = os.environ.get("CI", "").lower() == "true"


def fuzz(max_examples: int) -> settings:
    """Settings for one fuzz test: this many examples, no per-example deadline (a first call may
    load a language model or parse a site file), deterministic under CI."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=CI,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
        **({"database": None} if CI else {}),
    )
