"""The README names every setting, and no link of the README or docs/ leaves the repository."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import AliasChoices

from core.config import Settings

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_readme_names_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        names = alias.choices if isinstance(alias, AliasChoices) else [f"DESCENT_{field.upper()}"]
        assert any(f"`{name}`" in readme for name in names), field


def test_every_relative_link_points_into_the_repository() -> None:
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#]+)\)", page.read_text()):
            if re.match(r"[a-z]+://", target):
                continue
            resolved = (page.parent / target).resolve()
            assert resolved.is_relative_to(ROOT) and resolved.exists(), f"{page.name}: {target}"
        assert "../shared" not in page.read_text(), page.name
