"""``attnpred monitor``: replay a JSONL stream through a run and the alert rules, in order."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from attnpred.errors import AttnpredError
from attnpred.serve.models import as_list, result_dict
from attnpred.serve.monitor import FileSink, Monitor, load_rules


def read_stream(path: str | Path, field: str) -> list[Any]:
    """The ``field`` of each JSONL line, in order; errors name the line."""
    path, inputs = Path(path), []
    if not path.is_file():
        raise AttnpredError("stream file not found", file=path)
    from attnpred.data.parallel import read_lines  # decoding errors name the line
    for i, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AttnpredError(f"invalid JSON ({exc.msg})", file=path, line=i) from None
        if not isinstance(record, dict) or field not in record:
            raise AttnpredError(f"expected an object with {field!r}", file=path, line=i,
                                field=field)
        inputs.append(record[field])
    return inputs


def replay(run_dir: str | Path, stream: str | Path, rules_file: str | Path, *,
           field: str = "text", alerts_file: str | None = None, batch_size: int = 64,
           predictor: Any = None) -> dict[str, Any]:
    """Predict the stream in order, evaluate the rules, send alerts; returns a summary."""
    rules, sinks = load_rules(rules_file)
    monitor = Monitor(rules, sinks, model=Path(run_dir).name)
    if alerts_file:
        monitor.sinks.append(FileSink(alerts_file))
    if predictor is None:
        import attnpred
        predictor = attnpred.load(run_dir)
    inputs, alerts = read_stream(stream, field), []
    for start in range(0, len(inputs), batch_size):
        chunk = inputs[start: start + batch_size]
        results = [result_dict(r) for r in as_list(predictor.predict(chunk))]
        alerts += monitor.observe(chunk, results)
    return {"predictions": len(inputs), "alerts": len(alerts),
            "by_rule": {s.rule.name: sum(a["rule"] == s.rule.name for a in alerts)
                        for s in monitor.states},
            "last_values": {s.rule.name: s.value for s in monitor.states}}
