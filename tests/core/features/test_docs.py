"""The committed reference page is exactly what the generator writes from the recipe."""

from __future__ import annotations

from pathlib import Path

from huracan_core.features import default_recipe
from huracan_core.features.docs import DOC_PATH, main, render


def test_committed_page_is_generated_text() -> None:
    assert DOC_PATH.read_text() == render(), (
        "docs/features.md is stale: run python -m huracan_core.features.docs"
    )


def test_page_lists_every_feature_with_its_model_flag(tmp_path: Path) -> None:
    recipe = default_recipe("1d", cross_sectional_family=True)  # the page lists the opt-in family too
    main([str(tmp_path / "features.md")])
    page = (tmp_path / "features.md").read_text()
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    assert len(rows) == len(recipe.features)
    listed_model = [row.split("`")[1] for row in rows if "| yes |" in row]
    assert listed_model == recipe.model_columns and len(listed_model) >= 50
    assert recipe.content_hash in page and default_recipe("1d").content_hash in page
