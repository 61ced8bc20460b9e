"""The demo runs on bundled data only (no ../shared), end to end."""
from attnpred.cli.main import main
from attnpred.resources import resource


def test_bundled_data_and_licence_are_shipped():
    fpb = resource("financial_phrasebank")
    assert (fpb / "License.txt").exists() and (fpb / "ATTRIBUTION.md").exists()
    lines = (fpb / "Sentences_AllAgree.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2264 and all("@" in line for line in lines)


def test_sentiment_demo_runs_on_bundled_data(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ATTNPRED_DATA", str(tmp_path / "no-shared-data"))
    assert main(["demo", "--out", str(tmp_path), "--model", "scratch", "--epochs", "1",
                 "--skip-forecast"]) == 0
    out = capsys.readouterr().out
    assert "majority baseline" in out and "attends to (gradient-weighted attention):" in out
    assert (tmp_path / "sentiment" / "model.safetensors").exists()
    page = tmp_path / "sentiment" / "explain.html"
    assert str(page) in out and "Operating profit" in page.read_text(encoding="utf-8")
