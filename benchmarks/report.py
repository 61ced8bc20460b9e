"""Render benchmarks/results/*.json as Markdown tables into README.md (between markers).

    python benchmarks/report.py          # rewrites the README's results section
"""
from __future__ import annotations

import json
from collections import defaultdict

from common import RESULTS, ROOT

from attnpred.io import atomic_write_text

START, END = "<!-- results:start -->", "<!-- results:end -->"
KEYS = ("horizon", "input_len", "anchor", "selected", "seq_len", "pass", "lambda", "fraction",
        "labelled_fraction", "self_training_round", "seed", "variant", "direction", "symmetrize",
        "use_cache", "processes")


def table(data: dict) -> str:
    """One table per results file: rows (dataset, model, split, extras), columns metrics."""
    rows: dict[tuple, dict[str, str]] = defaultdict(dict)
    metrics: list[str] = []
    for r in data["records"]:
        extra = tuple(f"{k}={r[k]}" for k in KEYS if k in r)
        key = (r["dataset"], r["model"], r.get("split", ""), " ".join(extra))
        value = r["value"]
        cell = f"{value:.4f}" if isinstance(value, float) else str(value)
        rows[key][r["metric"]] = cell
        if "seconds" in r and r["seconds"]:
            rows[key]["seconds"] = f"{r['seconds']:.0f}"
        if r["metric"] not in metrics:
            metrics.append(r["metric"])
    cols = metrics + (["seconds"] if any("seconds" in v for v in rows.values()) else [])
    head = "| dataset | model | split | setting | " + " | ".join(cols) + " |"
    sep = "|" + "---|" * (4 + len(cols))
    body = ["| " + " | ".join(k) + " | " + " | ".join(v.get(c, "") for c in cols) + " |"
            for k, v in rows.items()]
    meta = (f"`{data['command']}` · commit `{data['commit'][:12]}` · {data['machine']} · "
            f"{data['created']}")
    return "\n".join([f"#### {data['benchmark']}", "", meta, "", head, sep, *body,
                      *earlier_runs(data["records"])])


def earlier_runs(records: list[dict]) -> list[str]:
    """A line per earlier run whose rows a results file kept (records carrying ``from_run``)."""
    runs: dict[tuple, list[str]] = defaultdict(list)
    for r in records:
        if "from_run" in r:
            run = r["from_run"]
            key = (run["command"], run["commit"][:12], run["created"])
            name = f"{r['dataset']} {r['model']}"
            if name not in runs[key]:
                runs[key].append(name)
    return ["", *[f"- Rows of {', '.join(names)} from `{cmd}` · commit `{c}` · {when}"
                  for (cmd, c, when), names in runs.items()]] if runs else []


def main() -> None:
    parts = [table(json.loads(p.read_text())) for p in sorted(RESULTS.glob("*.json"))]
    readme = ROOT / "README.md"
    text = readme.read_text()
    if START not in text:
        raise SystemExit("README.md has no results markers")
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    atomic_write_text(readme, before + START + "\n" + "\n\n".join(parts) + "\n" + END + after)
    print(f"README results: {len(parts)} tables")


if __name__ == "__main__":
    main()
