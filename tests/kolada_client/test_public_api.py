"""The client's public surface: ``__all__`` complete and sorted, docstring examples that run."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
import types

import pytest

import kolada_client
import kolada_pipeline.server


def _isort_order(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then everything else; each alphabetical."""
    if name.isupper():
        return 0, name
    if name[:1].isupper():
        return 1, name
    return 2, name


@pytest.mark.parametrize("package", [kolada_client, kolada_pipeline.server], ids=lambda p: p.__name__)
def test_all_is_sorted_and_names_every_public_object(package):
    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(package.__all__) == public | ({"__version__"} & set(vars(package)))
    assert package.__all__ == sorted(package.__all__, key=_isort_order)
    assert len(set(package.__all__)) == len(package.__all__)


def test_the_api_constants_have_one_home_that_the_server_uses():
    from kolada_pipeline.server import _app, _snapshot

    assert (kolada_client.MAX_IDS_PER_LIST, kolada_client.MAX_PER_PAGE) == (25, 5000)
    assert _app.MAX_IDS_PER_LIST is kolada_client.MAX_IDS_PER_LIST
    assert _app.MAX_PER_PAGE is kolada_client.MAX_PER_PAGE
    assert _snapshot.KPI_ID.pattern == kolada_client.KPI_ID_PATTERN
    assert re.fullmatch(kolada_client.KPI_ID_PATTERN, "N00945")
    assert not re.fullmatch(kolada_client.KPI_ID_PATTERN, "N0O945")


def _client_modules() -> list[types.ModuleType]:
    names = [kolada_client.__name__] + [
        f"{kolada_client.__name__}.{m.name}" for m in pkgutil.iter_modules(kolada_client.__path__)
    ]
    return [importlib.import_module(name) for name in names]


@pytest.mark.parametrize("module", _client_modules(), ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_the_examples_that_need_no_network_are_not_skipped():
    examples = [
        example
        for module in _client_modules()
        for test in doctest.DocTestFinder().find(module)
        for example in test.examples
    ]
    ran = [e for e in examples if not e.options.get(doctest.SKIP)]
    assert len(ran) >= 15
    skipped = [e.source for e in examples if e.options.get(doctest.SKIP)]
    assert all("KoladaClient(" in source or "kolada." in source for source in skipped), skipped
