"""The static HTML follow-up report: an overview of the 17 goals and one page per goal.

``build_report(warehouse, out_dir, focus=None)`` reads the published warehouse (read-only, with
the queries in ``warehouse/sql/report/``) and writes pages from the Jinja2 templates in
``templates/`` (autoescaped) that open from disk with no network: charts are inline SVG drawn in
Python, the CSS is inline, and a Content-Security-Policy forbids every fetch. Labels are Swedish,
numbers use a decimal comma (:func:`format_number`), missing values read "saknas", never zero,
every colour is also said in words, a KPI-year without a rank band reads "för få kommuner", and a
model's example local KPIs are labelled "exempeldata". The same warehouse gives the same bytes.
"""

from .build import build_report
from .format import format_number

__all__ = ["build_report", "format_number"]
