"""Alert rules on a stream of predictions: label shares, mean confidence, label spikes.

Rules live in a small JSON file::

    {"rules": [
       {"name": "negative-share", "kind": "label_share", "label": "negative",
        "window": 200, "above": 0.4},
       {"name": "low-confidence", "kind": "mean_confidence", "window": 100, "below": 0.6},
       {"name": "negative-spike", "kind": "label_spike", "label": "negative",
        "window": 50, "trailing": 10, "k": 3}],
     "sinks": [{"file": "alerts.jsonl"}, {"log": true}, {"webhook": "http://host/hook"}]}

The same ``Monitor`` runs inside the server (on every answered prediction) and in
``attnpred monitor RUN --input stream.jsonl`` (a file replayed in order). A rule fires when its
condition becomes true and re-arms when it becomes false again, so a lasting condition gives
one alert, not one per prediction. An alert is one JSON object (a JSONL line): the rule, the
window, the value, the threshold, the position in the stream and the texts that triggered it.
"""
from __future__ import annotations

import json
import logging
import math
import statistics
import threading
import time
import urllib.request
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from attnpred.config import check, config_from_dict
from attnpred.errors import AttnpredError
from attnpred.io import read_json

log = logging.getLogger("attnpred.monitor")
KINDS = ("label_share", "mean_confidence", "label_spike")
MAX_TEXTS = 20  # texts carried in one alert


@dataclass
class Rule:
    """One alert rule."""

    name: str
    """Identifies the rule in alerts and in the Prometheus gauge."""
    kind: str
    """'label_share' (share of ``label`` in the last ``window`` predictions above ``above``),
    'mean_confidence' (mean top probability of the last ``window`` below ``below``) or
    'label_spike' (share of ``label`` in the last ``window`` more than ``k`` standard deviations
    above its mean over the ``trailing`` windows before)."""
    window: int = 200
    """Number of most recent predictions the rule looks at."""
    label: str | None = None
    """The label concerned (label_share, label_spike)."""
    above: float | None = None
    """label_share fires when the share exceeds this."""
    below: float | None = None
    """mean_confidence fires when the mean confidence falls under this."""
    k: float = 3.0
    """label_spike: how many trailing standard deviations above the trailing mean."""
    trailing: int = 10
    """label_spike: how many earlier, non-overlapping windows make the trailing mean and std."""

    def __post_init__(self) -> None:
        check(self.kind in KINDS, "kind", f"must be one of {KINDS}")
        check(self.window >= 1, "window", "must be at least 1")
        if self.kind in ("label_share", "label_spike"):
            check(self.label is not None, "label", f"a {self.kind} rule needs a label")
        if self.kind == "label_share":
            check(self.above is not None, "above", "a label_share rule needs 'above'")
        if self.kind == "mean_confidence":
            check(self.below is not None, "below", "a mean_confidence rule needs 'below'")
        if self.kind == "label_spike":
            check(self.trailing >= 2, "trailing", "needs at least 2 trailing windows")


@dataclass
class MonitorConfig:
    """Rules and where alerts go."""

    rules: list[dict] = field(default_factory=list)
    """The rules (see ``Rule``)."""
    sinks: list[dict] = field(default_factory=list)
    """Each {"file": path}, {"log": true} or {"webhook": url}; none means a log line."""


def load_rules(path: str | Path) -> tuple[list[Rule], list[dict]]:
    """Read a rules file; errors name the file and the rule's field."""
    cfg = config_from_dict(MonitorConfig, read_json(path), source=str(path))
    rules = [config_from_dict(Rule, r, source=str(path), prefix=f"rules[{i}].")
             for i, r in enumerate(cfg.rules)]
    if not rules:
        raise AttnpredError("no rules", file=path, field="rules")
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise AttnpredError("rule names must be unique", file=path, field="rules")
    for i, sink in enumerate(cfg.sinks):
        if not isinstance(sink, dict) or len(sink) != 1 or \
                next(iter(sink)) not in ("file", "log", "webhook"):
            raise AttnpredError("a sink is {\"file\": path}, {\"log\": true} or "
                                "{\"webhook\": url}", file=path, field=f"sinks[{i}]")
    return rules, cfg.sinks


# ---- evaluation ---------------------------------------------------------------------------
@dataclass
class Seen:
    """One prediction as the rules see it."""

    text: str
    label: str | None
    confidence: float | None


def seen(input_: Any, result: dict[str, Any]) -> Seen:
    """Label and confidence (top probability) from a result dict."""
    probs = result.get("probabilities")
    conf = result.get("confidence")
    if conf is None and isinstance(probs, dict) and probs:
        conf = max(probs.values())
    text = input_ if isinstance(input_, str) else result.get("text", str(input_)[:200])
    return Seen(str(text), result.get("label"), conf)


class RuleState:
    """The window of one rule and whether it is firing."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.window: deque[Seen] = deque(maxlen=rule.window)
        self.firing = False
        self.value: float | None = None
        self._count = 0
        self._shares: deque[float] = deque(maxlen=rule.trailing)  # label_spike history

    def observe(self, item: Seen) -> bool:
        """Add one prediction; True when the rule starts firing with it."""
        self.window.append(item)
        self._count += 1
        self.value = self._value()
        if self.rule.kind == "label_spike" and self._count % self.rule.window == 0:
            self._shares.append(self._share())  # a completed window joins the history
        now = self.value is not None and self._condition(self.value)
        started = now and not self.firing
        self.firing = now
        return started

    def _share(self) -> float:
        return sum(s.label == self.rule.label for s in self.window) / len(self.window)

    def _value(self) -> float | None:
        if len(self.window) < self.rule.window:
            return None  # judge only full windows
        if self.rule.kind == "label_share":
            return self._share()
        if self.rule.kind == "mean_confidence":
            confs = [s.confidence for s in self.window if s.confidence is not None]
            return sum(confs) / len(confs) if confs else None
        if len(self._shares) < self.rule.trailing:
            return None
        mean, std = statistics.fmean(self._shares), statistics.pstdev(self._shares)
        # a perfectly steady history has std 0; one prediction's worth keeps the score finite
        return (self._share() - mean) / max(std, 1.0 / self.rule.window)

    def _condition(self, value: float) -> bool:
        r = self.rule
        if r.kind == "label_share":
            return value > r.above
        if r.kind == "mean_confidence":
            return value < r.below
        return value > r.k

    def triggering_texts(self) -> list[str]:
        if self.rule.kind == "mean_confidence":
            items = sorted((s for s in self.window if s.confidence is not None),
                           key=lambda s: s.confidence)
        else:
            items = [s for s in reversed(self.window) if s.label == self.rule.label]
        return [s.text for s in items[:MAX_TEXTS]]

    def threshold(self) -> float:
        r = self.rule
        return {"label_share": r.above, "mean_confidence": r.below}.get(r.kind, r.k)


class Monitor:
    """Evaluates rules on predictions in order and sends alerts to the sinks.

    Args:
        rules: the rules.
        sinks: sink specs (see the module docstring); an empty list means a log line.
        model: the served model's name, carried in alerts.
        on_value: called with (rule name, value) after each prediction (Prometheus gauges).
    """

    def __init__(self, rules: list[Rule], sinks: list[dict], model: str = "model",
                 on_value: Callable[[str, float], None] | None = None) -> None:
        self.states = [RuleState(r) for r in rules]
        self.sinks = [make_sink(s) for s in sinks] or [LogSink()]
        self.model, self.on_value = model, on_value
        self.position = 0
        self._lock = threading.Lock()

    def observe(self, inputs: list[Any], results: list[dict[str, Any]]) -> list[dict]:
        """Feed predictions in order; returns (and sends) the alerts they start."""
        alerts = []
        with self._lock:
            for x, res in zip(inputs, results):
                item = seen(x, res)
                self.position += 1
                for state in self.states:
                    if item.label is None and state.rule.kind != "mean_confidence":
                        continue
                    if state.observe(item):
                        alerts.append(self._alert(state))
                    if self.on_value is not None and state.value is not None:
                        self.on_value(state.rule.name, state.value)
        for alert in alerts:
            for sink in self.sinks:
                sink(alert)
        return alerts

    def _alert(self, state: RuleState) -> dict[str, Any]:
        return {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "model": self.model, "rule": state.rule.name, "kind": state.rule.kind,
                "label": state.rule.label, "window": state.rule.window,
                "position": self.position, "value": _round(state.value),
                "threshold": state.threshold(), "texts": state.triggering_texts(),
                "config": asdict(state.rule)}


def _round(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, 6)


# ---- sinks ----------------------------------------------------------------------------------
class FileSink:
    """Appends each alert as one JSON line."""

    def __init__(self, path: str) -> None:
        self.path, self._lock = Path(path), threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, alert: dict) -> None:
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(alert) + "\n")


class LogSink:
    """One warning log line per alert."""

    def __call__(self, alert: dict) -> None:
        log.warning("alert %s", json.dumps(alert))


class WebhookSink:
    """POSTs each alert as JSON, in a background thread (a slow hook never delays answers)."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise AttnpredError(f"webhook must be an http(s) URL, got {url!r}", field="webhook")
        self.url, self.timeout = url, timeout

    def __call__(self, alert: dict) -> None:
        threading.Thread(target=self._post, args=(alert,), daemon=True).start()

    def _post(self, alert: dict) -> None:
        req = urllib.request.Request(self.url, data=json.dumps(alert).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(req, timeout=self.timeout).close()
        except OSError as exc:
            log.warning("webhook %s failed: %s", self.url, exc)


def make_sink(spec: dict) -> Callable[[dict], None]:
    (kind, value), = spec.items()
    if kind == "file":
        return FileSink(value)
    if kind == "webhook":
        return WebhookSink(value)
    return LogSink()
