"""Prometheus metrics of one server (its own registry, so several apps can live in one process)."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (.005, .01, .025, .05, .075, .1, .15, .25, .5, .75, 1, 2.5, 5, 10, 30)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class ServerMetrics:
    """Requests by route and status, latencies, batch sizes, queue depth, model load and info."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("attnpred_requests", "HTTP requests by route and status",
                                ["route", "status"], registry=r)
        self.latency = Histogram("attnpred_request_seconds", "Request latency by route",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=r)
        self.in_flight = Gauge("attnpred_requests_in_flight", "Prediction requests accepted "
                               "and not yet answered", registry=r)
        self.batch_size = Histogram("attnpred_batch_size", "Inputs per model forward",
                                    ["model"], buckets=BATCH_BUCKETS, registry=r)
        self.forward_seconds = Histogram("attnpred_forward_seconds", "Seconds per model "
                                         "forward", ["model"], buckets=LATENCY_BUCKETS,
                                         registry=r)
        self.queue_depth = Gauge("attnpred_queue_depth", "Requests waiting for a forward",
                                 ["model"], registry=r)
        self.load_seconds = Gauge("attnpred_model_load_seconds", "Seconds to load a model",
                                  ["model"], registry=r)
        self.model_info = Gauge("attnpred_model_info", "Served models (value 1)",
                                ["model", "task", "run_dir", "backend"], registry=r)
        self.ready = Gauge("attnpred_ready", "1 when every model answered its warm-up",
                           registry=r)
        self.rule_value = Gauge("attnpred_alert_rule_value", "Current value of each alert rule",
                                ["model", "rule"], registry=r)
        self.alerts = Counter("attnpred_alerts", "Alerts fired", ["model", "rule"], registry=r)
