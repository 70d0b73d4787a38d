"""Shared report pieces: Markdown tables, the claims table, the grid heatmap and saving figures."""

from __future__ import annotations

import numpy as np
import pytest
import pandas as pd

from superposition.claims import (
    Claim,
    claims_table_markdown,
    diagnoses_markdown,
    read_claims,
    write_claims,
)
from superposition.markdown import format_value, frame_markdown, markdown_table
from superposition.plots import empty_panel, grid_heatmap, grid_matrix, new_figure, show_figure
from superposition.scorecard import scorecard_markdown
from tests.plot_checks import check_figure


def two_claims(tmp_path) -> dict:
    """A claims.json payload: one pass, one failure whose rule holds a ``|``."""
    write_claims(tmp_path / "claims.json", "demo", "A paper", [
        Claim("fig1_zone", "A zone exists.", "Figure 1", "0.03–0.3", "MMCS ≥ 0.9", {"best": 0.97}, "best 0.97", True),
        Claim("fig2_track", "S₁ tracks a/2.", "Figure 2", "S₁ ≈ a/2", "|S₁ − a/2| ≤ 30 %", None, "off by 50 %", False,
              note="smaller problem").diagnosed("scale_limited", "This tier codes d = 64."),
    ])
    return read_claims(tmp_path / "claims.json")


def test_claims_table_of_two_claims(tmp_path):
    assert claims_table_markdown(two_claims(tmp_path)) == (
        "**1 of 2 claims pass.**\n\n"
        "| claim | source | paper | rule | ours | verdict |\n"
        "|---|---|---|---|---|---|\n"
        "| `fig1_zone` A zone exists. | Figure 1 | 0.03–0.3 | MMCS ≥ 0.9 | best 0.97 | ✅ pass |\n"
        "| `fig2_track` S₁ tracks a/2. | Figure 2 | S₁ ≈ a/2 | \\|S₁ − a/2\\| ≤ 30 % | off by 50 % | ❌ FAIL (limited by "
        "this tier's scale) |")


def test_untestable_claims_show_a_dash(tmp_path):
    write_claims(tmp_path / "c.json", "demo", "P", [Claim("a", "s", "src", "p", "r", None, "—", None)])
    table = claims_table_markdown(read_claims(tmp_path / "c.json"))
    assert table.endswith("| `a` s | src | p | r | — | — untestable |")


def test_diagnoses_name_only_failed_claims_with_their_evidence(tmp_path):
    payload = two_claims(tmp_path)
    assert diagnoses_markdown(payload, "Where we differ") == (
        "### Where we differ\n- **fig2_track** (limited by this tier's scale): paper: S₁ ≈ a/2; ours: off by 50 %. "
        "This tier codes d = 64.")
    assert diagnoses_markdown({**payload, "claims": payload["claims"][:1]}) == ""


def test_a_failure_without_diagnosis_and_evidence_is_refused(tmp_path):
    failing = Claim("x", "s", "src", "p", "r", None, "m", False)
    with pytest.raises(ValueError, match="need a diagnosis.*\\['x'\\]"):
        write_claims(tmp_path / "c.json", "demo", "P", [failing])
    with pytest.raises(ValueError, match="unknown diagnosis"):
        failing.diagnosed("bad luck", "text")
    assert Claim("y", "s", "src", "p", "r", None, "m", True).diagnosed("open", "t").diagnosis is None


def test_scorecard_counts_outcomes_per_experiment_and_overall(tmp_path):
    two_claims(tmp_path)
    other = tmp_path / "other.json"
    write_claims(other, "second", "Q", [
        Claim("a", "s", "src", "p", "r", None, "m", False).diagnosed("non_replication", "figure 3"),
        Claim("b", "s", "src", "p", "r", None, "m", None),
        Claim("c", "s", "src", "p", "r", None, "m", False, secondary=True).diagnosed("open", "not run"),
    ])
    text = scorecard_markdown([tmp_path / "claims.json", other])
    assert text.startswith("# Scorecard\n\n1 of 4 claims pass; failed by non-replication 1, at the scale of this "
                           "tier 1, open 0; untestable 1.\n\n")
    assert ("| demo | 1 | 0 | 1 | 0 | 0 |\n| second | 0 | 1 | 0 | 0 | 1 |\n| **all** | 1 | 1 | 1 | 0 | 1 |"
            in text)
    assert "Secondary claims" in text and "| second | 0 | 0 | 0 | 1 | 0 |" in text
    assert "| demo | fig2_track | Figure 2 | S₁ ≈ a/2 | off by 50 % | ❌ FAIL (limited by this tier's scale) |" in text
    assert read_claims(other)["n_claims"] == 2  # the secondary claim is not one of the paper's


def test_markdown_tables_escape_cells_and_format_numbers():
    assert markdown_table(("a", "b"), [("x|y", "1\n2")]) == "| a | b |\n|---|---|\n| x\\|y | 1 2 |"
    values = (None, float("nan"), np.float32(0.123456), 7, "t")
    assert [format_value(v) for v in values] == ["—", "—", "0.123", "7", "t"]
    frame = pd.DataFrame({"name": ["x", "y"], "value": [0.5, np.nan], "count": [1, 2]})
    assert frame_markdown(frame, {"value": "{:.2f}"}) == (
        "| name | value | count |\n|---|---|---|\n| x | 0.50 | 1 |\n| y | — | 2 |")


def grid_table() -> pd.DataFrame:
    return pd.DataFrame([{"sparsity": a, "dict_ratio": r, "v": a * r} for a in (0.1, 0.01) for r in (2.0, 1.0)])


def test_grid_matrix_sorts_ratios_down_and_l1_across():
    matrix, ratios, l1s = grid_matrix(grid_table(), "v")
    assert ratios == [1.0, 2.0] and l1s == [0.01, 0.1]
    np.testing.assert_allclose(matrix, [[0.01, 0.1], [0.02, 0.2]])


def test_grid_heatmap_caps_annotates_and_saves(tmp_path):
    fig, ax = new_figure((5, 3))
    image = grid_heatmap(ax, grid_table(), "v", "a grid", cap=0.1, fmt="{:.2f}")
    assert image.get_array().max() == 0.1
    assert sorted(text.get_text() for text in ax.texts) == ["0.01", "0.02", "0.10", "0.10"]
    check_figure(fig, tmp_path / "grid.png", (5, 3),
                 [("L1 coefficient α (log scale)", "dictionary size / G (log scale)", "a grid")])


def test_empty_panel_keeps_its_text_and_hides_the_axes():
    fig, ax = new_figure((4, 2))
    empty_panel(ax, "nothing ran")
    assert not ax.axison and ax.texts[0].get_text() == "nothing ran"


def test_show_figure_saves_then_displays(tmp_path, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    fig, ax = new_figure((3, 2))
    show_figure(fig, tmp_path / "figures" / "a.png")
    assert shown == [fig] and (tmp_path / "figures" / "a.png").stat().st_size > 0
