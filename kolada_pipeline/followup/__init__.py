"""Follow-up models: which Kolada KPIs show a municipality's progress towards which SDG goals.

A model is a folder of hand-edited files (see ``mappings/README.md``)::

    from kolada_pipeline.followup import DEFAULT_MODEL_DIR, check_model, load_model

    model = load_model(DEFAULT_MODEL_DIR)          # ModelError if the files cannot be read
    report = check_model(model, kpi_titles, unit_types, kpi_metadata=kpi_frame,
                         municipality_groups=group_frame)  # Kolada's groups: id, title, members_json
    report.raise_for_errors()                      # ModelError if they say something wrong
    frames = model.to_frames(exclude_kpis=report.retired_kpi_ids)
    model.kolada_kpi_ids()                         # the Kolada KPIs the refresh must fetch
    model.comparison_group_ids()                   # the municipality groups the model names

The governance model (organisation, objectives, assignments, activities, indicators,
assessments) is part of the same folder: ``model.governance`` holds its rows, ``check_model``
checks them (``today=`` sets the day assessments may not be dated after), and ``to_frames``
returns its mapping tables.

Comparison groups: ``model.yaml``'s ``comparison_groups`` and ``kpis.csv``'s ``comparison_group``
name Kolada municipality groups (``G…``) that replace the default comparisons; ``to_frames``
returns them as ``model_comparison_group`` and ``kpi_comparison_group``, and
``load_comparison_areas()`` reads the bundled operating area → "Liknande kommuner" area mapping.

Exceptions: ``ModelError`` (with ``.problems``, a list of ``ModelProblem``) for model files;
``ReferenceFileError`` for a broken bundled reference file.
A model reads only files inside its own folder, each at most ``MAX_FILE_BYTES``; text from the
files appears in messages only as a short ``excerpt``, and lists of problems are cut by
``format_problems``. Importing this package reads no files.
"""

from kolada_pipeline.followup.check import (
    CheckReport,
    check_model,
    check_models_together,
    format_report,
)
from kolada_pipeline.followup.files import (
    DEFAULT_MIN_RANKED_COUNT,
    DEFAULT_MODEL_DIR,
    EXCERPT_CHARS,
    MAX_FILE_BYTES,
    MAX_LISTED_PROBLEMS,
    FollowUpModel,
    KpiMapping,
    LocalKpi,
    ModelError,
    ModelProblem,
    discover_models,
    excerpt,
    format_problems,
    load_model,
    parse_number,
)
from kolada_pipeline.followup.governance import (
    ASSESSMENTS,
    STATUSES,
    UNIT_KINDS,
    Governance,
    period_end,
)
from kolada_pipeline.followup.reference import (
    MAPPINGS_DIR,
    SIMILAR_AREAS,
    ReferenceFileError,
    load_comparison_areas,
    load_goals,
    load_retired_kpis,
    load_targets,
)

__all__ = [
    "ASSESSMENTS",
    "CheckReport",
    "DEFAULT_MIN_RANKED_COUNT",
    "DEFAULT_MODEL_DIR",
    "EXCERPT_CHARS",
    "FollowUpModel",
    "Governance",
    "KpiMapping",
    "LocalKpi",
    "MAPPINGS_DIR",
    "MAX_FILE_BYTES",
    "MAX_LISTED_PROBLEMS",
    "ModelError",
    "ModelProblem",
    "ReferenceFileError",
    "SIMILAR_AREAS",
    "STATUSES",
    "UNIT_KINDS",
    "check_model",
    "check_models_together",
    "discover_models",
    "excerpt",
    "format_problems",
    "format_report",
    "load_comparison_areas",
    "load_goals",
    "load_model",
    "load_retired_kpis",
    "load_targets",
    "parse_number",
    "period_end",
]
