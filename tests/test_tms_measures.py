"""Known answers for the superposition measures on hand-built W (rows are features)."""

import math

import pytest
import torch

from superposition.tms.measures import (
    dimensions_per_feature,
    feature_dimensionality,
    feature_norms,
    n_represented,
    neighbour_angles,
    share_near,
    superposition,
)


def polygon(k: int, radius: float = 1.0) -> torch.Tensor:
    """k unit directions evenly spaced in 2-D, (k, 2)."""
    angles = torch.arange(k, dtype=torch.float64) * 2 * math.pi / k
    return radius * torch.stack([angles.cos(), angles.sin()], dim=1)


def tetrahedron() -> torch.Tensor:
    vertices = torch.tensor([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=torch.float64)
    return vertices / math.sqrt(3)


@pytest.mark.parametrize("w, expected", [
    (torch.eye(3, dtype=torch.float64), 1.0),                      # orthogonal features: a dimension each
    (polygon(2), 1 / 2),                                           # antipodal pair (digon)
    (polygon(3), 2 / 3),                                           # triangle
    (polygon(5), 2 / 5),                                           # pentagon
    (tetrahedron(), 3 / 4),                                        # tetrahedron in 3-D
])
def test_feature_dimensionality_of_uniform_polytopes(w, expected):
    torch.testing.assert_close(feature_dimensionality(w), torch.full((len(w),), expected, dtype=torch.float64))


def test_feature_dimensionality_ignores_scale_and_gives_zero_for_absent_features():
    w = torch.cat([polygon(2, radius=0.3), torch.zeros(1, 2, dtype=torch.float64)])
    torch.testing.assert_close(feature_dimensionality(w), torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64))


def test_dimensions_per_feature_known_answer():
    # m = 2, ||W||_F² = 5 unit features -> D* = 2/5 for a pentagon; 1 for two orthogonal unit features.
    assert dimensions_per_feature(polygon(5)).item() == pytest.approx(2 / 5)
    assert dimensions_per_feature(torch.eye(2)).item() == pytest.approx(1.0)
    # Scaling W by 2 quarters D*.
    assert dimensions_per_feature(2 * torch.eye(2)).item() == pytest.approx(0.25)


def test_superposition_known_answers():
    torch.testing.assert_close(superposition(torch.eye(3)), torch.zeros(3))
    # Antipodal pair of norms 1 and 2: feature 0 sees (Ŵ0·W1)² = 4; feature 1 sees (Ŵ1·W0)² = 1.
    w = torch.tensor([[1.0, 0.0], [-2.0, 0.0]])
    torch.testing.assert_close(superposition(w), torch.tensor([4.0, 1.0]))
    # Pentagon: Σ_{j≠i} cos² = 2cos²72° + 2cos²144° = 1.5.
    torch.testing.assert_close(superposition(polygon(5)), torch.full((5,), 1.5, dtype=torch.float64))
    # A zero-norm feature has no direction to share.
    assert superposition(torch.tensor([[0.0, 0.0], [1.0, 0.0]]))[0] == 0


def test_norms_and_represented_count():
    w = torch.tensor([[3.0, 4.0], [0.3, 0.0], [0.0, 0.6]])
    torch.testing.assert_close(feature_norms(w), torch.tensor([5.0, 0.3, 0.6]))
    assert n_represented(w).item() == 2
    assert n_represented(w.expand(4, 3, 2)).tolist() == [2, 2, 2, 2]


def test_neighbour_angles_of_a_pentagon_and_a_square():
    angles = neighbour_angles(polygon(5).float())
    assert angles == pytest.approx([72.0] * 5, abs=1e-3)
    assert sum(neighbour_angles(torch.tensor([[1.0, 0.0], [0.0, 2.0], [-1.0, 0.1]]))) == pytest.approx(360.0)
    assert neighbour_angles(polygon(4).float(), features=[0, 1]) == pytest.approx([90.0, 270.0], abs=1e-3)
    with pytest.raises(ValueError, match="2-D"):
        neighbour_angles(torch.eye(3))


def test_share_near_known_answer():
    # 0.51 and 0.385 are within ± 0.02 of 1/2 and 3/8; 0.45 and 0.0 are not.
    assert share_near([0.51, 0.385, 0.45, 0.0], (0.5, 0.375), 0.02) == 0.5
    assert share_near([], (0.5,), 0.02) == 0.0
