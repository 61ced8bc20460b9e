"""Alert rules: firing on a scripted stream, silent on a calm one, in the server and in replay."""
from __future__ import annotations

import json
import random

import pytest
from servehelp import serving
from prometheus_client.parser import text_string_to_metric_families

from attnpred.cli.serve import main
from attnpred.errors import AttnpredError
from attnpred.serve.monitor import Monitor, Rule, load_rules

RULES = [Rule("neg-share", "label_share", window=20, label="negative", above=0.4),
         Rule("low-conf", "mean_confidence", window=20, below=0.6),
         Rule("neg-spike", "label_spike", window=10, label="negative", trailing=5, k=3)]


def result(label: str, conf: float) -> dict:
    rest = (1 - conf) / 2
    probs = {lab: (conf if lab == label else rest) for lab in ("negative", "neutral",
                                                                "positive")}
    return {"label": label, "probabilities": probs}


def calm(n: int, seed: int = 0) -> list[dict]:
    """Steady traffic: about 20% negative, confident."""
    rng = random.Random(seed)
    return [result("negative" if i % 5 == 0 else rng.choice(["neutral", "positive"]),
                   0.9) for i in range(n)]


def test_calm_stream_fires_nothing(tmp_path):
    mon = Monitor(RULES, [{"file": str(tmp_path / "alerts.jsonl")}])
    stream = calm(300)
    assert mon.observe([f"t{i}" for i in range(300)], stream) == []
    assert not (tmp_path / "alerts.jsonl").exists()


def test_scripted_stream_fires_each_rule_once_with_window_value_and_texts(tmp_path):
    values = {}
    mon = Monitor(RULES, [{"file": str(tmp_path / "alerts.jsonl")}],
                  on_value=lambda rule, v: values.__setitem__(rule, v))
    stream = calm(100) + [result("negative", 0.5) for _ in range(30)]
    texts = [f"calm {i}" for i in range(100)] + [f"bad news {i}" for i in range(30)]
    alerts = mon.observe(texts, stream)
    assert sorted(a["rule"] for a in alerts) == ["low-conf", "neg-share", "neg-spike"]
    lines = [json.loads(x) for x in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert lines == alerts
    share = next(a for a in alerts if a["rule"] == "neg-share")
    assert share["window"] == 20 and share["value"] > 0.4 and share["threshold"] == 0.4
    # the window's negatives, newest first: the burst, then calm ones still in the window
    assert share["texts"][0].startswith("bad news") and "bad news 0" in share["texts"]
    assert 100 < share["position"] <= 130
    spike = next(a for a in alerts if a["rule"] == "neg-spike")
    assert spike["value"] > 3
    assert values["neg-share"] == 1.0 and values["low-conf"] == pytest.approx(0.5)


def test_a_rule_re_arms_after_the_condition_clears():
    mon = Monitor(RULES[:1], [{"log": True}])
    burst = [result("negative", 0.9)] * 20
    fired = [len(mon.observe(["x"] * 20, part)) for part in (burst, calm(40), burst)]
    assert fired == [1, 0, 1]


def test_rules_file_errors_name_the_field(tmp_path):
    bad = tmp_path / "rules.json"
    bad.write_text(json.dumps({"rules": [{"name": "a", "kind": "label_share", "window": 5}]}))
    with pytest.raises(AttnpredError, match="label"):
        load_rules(bad)
    bad.write_text(json.dumps({"rules": [{"name": "a", "kind": "nope"}]}))
    with pytest.raises(AttnpredError, match="kind"):
        load_rules(bad)


def rules_file(tmp_path, alerts) -> str:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({
        "rules": [{"name": "neg-share", "kind": "label_share", "label": "negative",
                   "window": 10, "above": 0.5}],
        "sinks": [{"file": str(alerts)}]}))
    return str(path)


NEGATIVE = "sales fell in the quarter said the company"
POSITIVE = "profit rose in the quarter said the company"


def test_server_stream_fires_and_exports_rule_values(run_dir, tmp_path):
    alerts = tmp_path / "alerts.jsonl"
    with serving([str(run_dir)], monitor_rules=rules_file(tmp_path, alerts),
                 max_wait_ms=0) as srv:
        for _ in range(2):
            assert srv.predict([POSITIVE] * 5).status_code == 200
        assert not alerts.exists()
        for _ in range(2):
            srv.predict([NEGATIVE] * 5)
        families = {f.name: f for f in text_string_to_metric_families(
            srv.anonymous.get("/metrics").text)}
    value = families["attnpred_alert_rule_value"].samples[0]
    assert value.labels["rule"] == "neg-share" and value.value == 1.0
    fired = [json.loads(x) for x in alerts.read_text().splitlines()]
    assert len(fired) == 1 and NEGATIVE in fired[0]["texts"]


def test_monitor_command_replays_a_file_in_order(run_dir, tmp_path, capsys):
    stream = tmp_path / "stream.jsonl"
    stream.write_text("".join(json.dumps({"text": t}) + "\n"
                              for t in [POSITIVE] * 10 + [NEGATIVE] * 10))
    alerts = tmp_path / "alerts.jsonl"
    assert main(["monitor", str(run_dir), "--input", str(stream), "--rules",
                 rules_file(tmp_path, alerts), "--batch-size", "4"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["predictions"] == 20 and summary["by_rule"] == {"neg-share": 1}
    assert json.loads(alerts.read_text())["position"] == 16  # 6th negative of a 10-window
    calm_stream = tmp_path / "calm.jsonl"
    calm_stream.write_text("".join(json.dumps({"text": POSITIVE}) + "\n" for _ in range(20)))
    assert main(["monitor", str(run_dir), "--input", str(calm_stream), "--rules",
                 rules_file(tmp_path, tmp_path / "none.jsonl")]) == 0
    assert json.loads(capsys.readouterr().out)["alerts"] == 0
    stream.write_text('{"text": "ok"}\nnot json\n')
    assert main(["monitor", str(run_dir), "--input", str(stream), "--rules",
                 rules_file(tmp_path, alerts)]) == 2
    assert "stream.jsonl:2" in capsys.readouterr().err
