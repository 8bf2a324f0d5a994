"""Each public package says what it offers in a complete ``__all__``, and the docstring examples
run (doctest) instead of being skipped."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import kolada_pipeline

PACKAGES = [
    "kolada_client",
    "kolada_pipeline",
    "kolada_pipeline.cli",
    "kolada_pipeline.followup",
    "kolada_pipeline.quality",
    "kolada_pipeline.report",
    "kolada_pipeline.server",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_complete(name: str):
    module = importlib.import_module(name)
    assert module.__all__, name
    assert len(set(module.__all__)) == len(module.__all__), name
    for item in module.__all__:
        assert hasattr(module, item), f"{name}.{item}"


def _modules() -> list[str]:
    names = ["kolada_client._urls", "kolada_client._client"]
    for info in pkgutil.walk_packages(kolada_pipeline.__path__, "kolada_pipeline."):
        if ".server.__main__" not in info.name and not info.name.endswith("__main__"):
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name: str):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} doctest example(s) failed"
