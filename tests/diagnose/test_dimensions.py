from percediag.diagnose.dimensions import dimension_view
from percediag.pipeline import parse
from tests.helpers import REAL


def test_dimension_view_from_real_log():
    view = dimension_view(parse(REAL / "round6.log").runs[0])
    assert view.available
    assert view.collapsed == {"1": 19, "2": 19, "3": 19, "0": 19}
    names = [d.name for d in view.negative]
    assert "space" in names
    space = next(d for d in view.negative if d.name == "space")
    assert space.mean_r2 is not None and space.mean_r2 < 0


def test_worst_everywhere_needs_every_fold():
    view = dimension_view(parse(REAL / "round5.log").runs[0])
    bottoms = [{d.name for d in f.summary.bottom_dims} for f in parse(REAL / "round5.log").runs[0].folds]
    assert set(view.worst_everywhere) == set.intersection(*bottoms)
