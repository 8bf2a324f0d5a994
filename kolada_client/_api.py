"""What Kolada API v3 itself fixes: limits and id shapes, in one place.

The client obeys these limits and the local server (``kolada_pipeline.server``) enforces them, so
both import them from here.
"""

from __future__ import annotations

MAX_IDS_PER_LIST = 25
"""Most ids one comma list in a path may hold; more is a 422."""

MAX_PER_PAGE = 5000
"""Largest ``per_page`` Kolada accepts; more is a 422."""

KPI_ID_PATTERN = r"^[NU]\d{5}$"
"""A Kolada KPI id: ``N`` (national) or ``U`` (own, e.g. benchmark) and five digits, e.g. N00945."""

AGENDA_2030_GROUPS = ("G2KPI130255", "G2KPI196561")
"""Kolada's KPI groups for Agenda 2030 (municipalities, regions): the default KPI set."""
