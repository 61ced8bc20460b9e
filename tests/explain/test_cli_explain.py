"""``attnpred explain`` (attnpred.cli.explain.main): every output format, every family, and
user mistakes as one-line errors."""
import json

import numpy as np
import pytest

from attnpred.cli.explain import main
from attnpred.errors import AttnpredError


def run(argv, capsys):
    main([str(a) for a in argv])
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_classify_html_json_npz_png(classifier_run, tmp_path, capsys):
    data = tmp_path / "in.jsonl"
    data.write_text(json.dumps({"text": "profit rose in the quarter.", "label": "positive",
                                "rationale": [1, 1, 0, 0, 0]}) + "\n" +
                    json.dumps({"text": "sales fell", "label": "negative"}) + "\n")
    out = run([classifier_run, "--input", data, "--output", tmp_path / "r.html",
               "--methods", "all", "--faithfulness", "rollout"], capsys)
    assert out == {"output": str(tmp_path / "r.html"), "format": "html", "examples": 2}
    html = (tmp_path / "r.html").read_text()
    assert "Content-Security-Policy" in html and "quarter" in html
    run([classifier_run, "--text", "sales fell .", "--output", tmp_path / "r.json"], capsys)
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["explanations"][0]["words"] == ["sales", "fell", "."]
    run([classifier_run, "--input", data, "--output", tmp_path / "r.npz", "--limit", "1"],
        capsys)
    z = np.load(tmp_path / "r.npz")
    assert "0/matrices/attention" in z.files and "1/maps/rollout" not in z.files
    out = run([classifier_run, "--text", "profit rose", "--output", tmp_path / "figs",
               "--format", "svg", "--head", "0"], capsys)
    assert (tmp_path / "figs" / "example-0001.svg").exists() and out["format"] == "svg"


def test_classify_plain_text_lines(classifier_run, tmp_path, capsys):
    (tmp_path / "t.txt").write_text("profit rose\nsales fell in the year\n")
    out = run([classifier_run, "--input", tmp_path / "t.txt", "--output", tmp_path / "a.json"],
              capsys)
    assert out["examples"] == 2


def test_seq2seq_with_references_and_gold_alignment(seq2seq_run, tmp_path, capsys):
    (tmp_path / "src.txt").write_text("a dog runs\nthe cat sleeps\n")
    (tmp_path / "ref.txt").write_text("ein Hund rennt\nder Katze schläft\n")
    (tmp_path / "gold.txt").write_text("0-0 1-1 2-2\n0-0 1-1 2-2\n")
    run([seq2seq_run, "--input", tmp_path / "src.txt", "--ref", tmp_path / "ref.txt",
         "--alignment", tmp_path / "gold.txt", "--output", tmp_path / "s.json"], capsys)
    ex = json.loads((tmp_path / "s.json").read_text())["explanations"]
    assert ex[1]["output"] == "der Katze schläft" and ex[1]["gold_links"][2] == [2, 2]
    run([seq2seq_run, "--text", "a cat sleeps", "--output", tmp_path / "s.png"], capsys)
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


def test_forecast_windows(forecaster_run, tmp_path, capsys):
    run_dir, csv = forecaster_run
    out = run([run_dir, "--input", csv, "--end", 150, "--end", 200, "--output",
               tmp_path / "f.json"], capsys)
    ex = json.loads((tmp_path / "f.json").read_text())["explanations"]
    assert out["examples"] == 2 and ex[1]["name"] == "series.csv @ row 200"


@pytest.mark.parametrize("argv,match", [
    (["--output", "x.html"], "--input FILE or --text"),
    (["--text", "a", "--output", "x.html", "--limit", "0"], "--limit"),
    (["--text", "a", "--output", "x.html", "--methods", "nope"], "unknown method"),
    (["--input", "missing.csv", "--output", "x.html"], "missing.csv"),
    (["--text", "a", "--output", "x.gif", "--format", "gif"], "invalid choice"),
])
def test_user_mistakes_are_one_line_errors(classifier_run, tmp_path, argv, match):
    with pytest.raises(AttnpredError, match=match) as err:
        main([str(classifier_run), *[a.replace("x.", str(tmp_path / "x.")) for a in argv]])
    assert "\n" not in str(err.value)


def test_no_run_and_help(capsys, tmp_path):
    with pytest.raises(AttnpredError, match="run directory"):
        main([])
    with pytest.raises(AttnpredError, match="config.json|run directory"):
        main([str(tmp_path), "--text", "a", "--output", str(tmp_path / "x.html")])
    main(["--help"])
    assert "--output" in capsys.readouterr().out
