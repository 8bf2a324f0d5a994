"""The static HTML reports, read from the published warehouse (read-only).

* ``build_report(warehouse, out_dir, focus=None)``: the Agenda 2030 follow-up, an overview of the
  17 goals and one page per goal; each KPI beside its peers, Riket and the mean of its similar
  municipalities (Kolada's "Liknande kommuner" group for the KPI's area, else the overall one).
* ``build_dialogue_report(warehouse, out, unit, period, pdf=False)`` and
  ``build_municipality_report(warehouse, out, period, pdf=False)``: the governance follow-up of
  one committee, or of the whole municipality, for one reporting period, written as an edition
  in ``<out>/<period>/`` with a ``manifest.json`` (see :mod:`.edition`); ``diff_editions(old,
  new)`` lists what changed between two editions.
* ``build_public_site(warehouse, out)``: the public Agenda 2030 site for residents.

Pages come from the Jinja2 templates in ``templates/`` (autoescaped) and open from disk with no
network: charts are inline SVG drawn in Python, the CSS is inline, and a Content-Security-Policy
forbids every fetch. Labels are Swedish, numbers use a decimal comma (:func:`format_number`),
missing values read "saknas", never zero, and every colour is also said in words. The same
warehouse and model give the same bytes.
"""

from .build import build_report
from .edition import (
    EditionDiff,
    build_dialogue_report,
    build_municipality_report,
    diff_editions,
    format_diff,
)
from .format import format_number
from .governance import ReportError
from .public import build_public_site

__all__ = [
    "EditionDiff",
    "ReportError",
    "build_dialogue_report",
    "build_municipality_report",
    "build_public_site",
    "build_report",
    "diff_editions",
    "format_diff",
    "format_number",
]
