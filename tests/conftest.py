"""Hypothesis profiles: CI draws the same examples every run; `explore` draws new ones each run.

A property test that fails only on some seeds would make CI pass or fail by
chance, so the default profile derandomizes (the examples depend on the test,
not on the clock). Run `python -m pytest --hypothesis-profile=explore` to search
fresh examples; a failure prints its falsifying example, to add to the
test with `@example`.
"""

from hypothesis import settings

settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("ci")
