"""The model's stories: the municipality's published reports on its sustainability work, per goal
(the optional ``stories.csv``, named under ``files: stories:`` in ``model.yaml``), for the public
Agenda 2030 pages. Read with the model files' own CSV reader (same encodings, separators and
containment in the model's folder), and checked by ``kolada mappings check`` like every file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .files import FollowUpModel, ModelProblem
from .files import _read_csv as read_model_csv

__all__ = ["STORY_COLUMNS", "Story", "read_stories"]

#: (required, optional) columns of stories.csv
STORY_COLUMNS = (("title", "url", "published_on", "goals"), ("summary", "note"))


@dataclass(frozen=True)
class Story:
    """One of the municipality's published reports on its sustainability work."""

    title: str
    url: str
    published_on: dt.date
    goals: tuple[int, ...]
    summary: str


def read_stories(model: FollowUpModel, problems: list[ModelProblem], today: dt.date | None = None) -> list[Story]:
    """The model's stories, newest first ([] without a stories file); every row that cannot be
    used adds a problem with file and line: a link that is not http(s), a date that is not
    ``YYYY-MM-DD`` or lies after ``today``, a goal outside 1–17, a missing title."""
    path = model.files.get("stories")
    if path is None:
        return []
    today = today or dt.date.today()
    notes: list[ModelProblem] = []
    stories = []
    for line, row in read_model_csv(path, STORY_COLUMNS, model.directory, problems, notes) or ():
        start = len(problems)

        def bad(message: str, line: int = line) -> None:
            problems.append(ModelProblem(path, line, message))

        url = row["url"]
        if not url.startswith(("https://", "http://")):
            bad(f"url must start with https:// or http://, not {url[:40]!r}")
        try:
            published = dt.date.fromisoformat(row["published_on"])
        except ValueError:
            bad(f"published_on must be a date YYYY-MM-DD, not {row['published_on'][:20]!r}")
            continue
        if published > today:
            bad(f"published_on {published} is after today ({today}): a story is listed once it is published")
        goals = []
        for part in row["goals"].replace(",", ";").split(";"):
            part = part.strip()
            if not part.isdigit() or not 1 <= int(part) <= 17:
                bad(f"goals must be goal numbers 1–17 separated by ';', not {part[:10]!r}")
            else:
                goals.append(int(part))
        if not row["title"]:
            bad("missing title")
        if len(problems) == start:
            stories.append(Story(row["title"], url, published, tuple(goals), row.get("summary", "")))
    return sorted(stories, key=lambda s: (s.published_on, s.title), reverse=True)
