"""The bundled ETTh1 (CC BY-ND: unchanged, with attribution) and the standard ETT windows."""
import hashlib
from pathlib import Path

import pytest

from attnpred.data.timeseries import TimeSeriesConfig, read_series
from attnpred.resources import resource
from attnpred.tasks.forecast import prepare

BUNDLED = resource("ett", "ETTh1.csv")
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "ett" / "ETTh1.csv"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_bundled_with_licence_and_attribution():
    assert BUNDLED.is_file()
    assert (BUNDLED.parent / "LICENSE").read_text().startswith("Creative Commons Attribution-No")
    assert "Informer" in (BUNDLED.parent / "ATTRIBUTION.md").read_text()


@pytest.mark.skipif(not SHARED.exists(), reason="shared data folder not present")
def test_bundled_copy_is_unchanged():
    assert sha(BUNDLED) == sha(SHARED)


def test_every_etth1_window_under_the_ett_split():
    series = read_series(BUNDLED)
    assert len(series) == 17420 and series.columns[-1] == "OT"
    prep = prepare(TimeSeriesConfig(split="ett-hour", input_len=336, horizon=96), series)
    assert {k: len(w) for k, w in prep.windows.items()} == {
        "train": 8640 - 336 - 96 + 1, "val": 2880 - 96 + 1, "test": 2880 - 96 + 1}
    # the scaler saw the training rows only
    assert prep.scaler.mean[-1] == pytest.approx(series.values[:8640, -1].mean())


@pytest.mark.slow
def test_forecast_demo_quick(tmp_path):
    from attnpred.tasks.forecast import forecast_demo
    result = forecast_demo(tmp_path, quick=True)
    assert Path(result["plot"]).is_file() and Path(result["forecast_csv"]).is_file()
    assert result["test"]["mse"] < result["baselines"]["repeat"]["mse"]
