"""``ServeConfig``: every setting of ``attnpred serve``."""
from __future__ import annotations

from dataclasses import dataclass, field

from attnpred.config import check

BACKENDS = ("torch", "onnx")


@dataclass
class ServeConfig:
    """The server: which runs, where it listens, batching, limits and keys."""

    runs: list[str] = field(default_factory=list)
    """Run directories to serve, each as DIR (named after the folder) or NAME=DIR."""
    host: str = "127.0.0.1"
    """Address to listen on (loopback by default; put a proxy in front for anything else)."""
    port: int = 8000
    """TCP port (0 picks a free one)."""
    backend: str = "torch"
    """'torch' (the run's PyTorch model) or 'onnx' (RUN/onnx/model.onnx from attnpred export)."""
    onnx_file: str = "model.onnx"
    """The file under RUN/onnx the onnx backend serves ('model.int8.onnx': the quantized one)."""
    device: str = "cpu"
    """Torch device for the torch backend."""
    threads: int = 1
    """Intra-op threads for each model's forward (torch or ONNX Runtime)."""
    max_batch: int = 32
    """Most inputs one forward takes; requests are merged up to this many inputs."""
    max_wait_ms: float = 2.0
    """How long the batcher waits for more requests after the first one (0: never waits)."""
    queue_size: int = 256
    """Requests that may wait per model; beyond it the server answers 429 at once."""
    request_timeout_s: float = 10.0
    """A request not answered within this many seconds gets 504 (never later)."""
    retry_after_s: int = 1
    """Seconds sent in Retry-After with 429 and 503 answers."""
    max_body_bytes: int = 1_000_000
    """Largest request body; larger ones get 413."""
    max_inputs: int = 64
    """Most inputs in one request; more get 413."""
    max_chars: int = 5000
    """Most characters in one text input; longer ones get 422."""
    api_keys_file: str | None = None
    """File with one API key per line ('#' starts a comment)."""
    api_keys_env: str = "ATTNPRED_API_KEYS"
    """Environment variable with comma-separated API keys (used with or without the file)."""
    allow_anonymous: bool = False
    """Serve /v1/* without any key; refused unless set when no key is configured."""
    warmup_inputs: list[str] = field(default_factory=lambda: ["warm-up request"])
    """Inputs of the warm-up request each model answers before /readyz says ready (a model
    whose predictor has ``example_inputs()`` uses those instead)."""
    drain_timeout_s: float = 30.0
    """On SIGTERM, the longest wait for accepted requests before exiting anyway."""
    monitor_rules: str | None = None
    """JSON file of alert rules evaluated on the prediction stream (attnpred.serve.monitor)."""
    log_level: str = "info"
    """uvicorn's log level."""

    def __post_init__(self) -> None:
        check(self.backend in BACKENDS, "backend", f"must be one of {BACKENDS}")
        check(self.max_batch >= 1, "max_batch", "must be at least 1")
        check(self.max_wait_ms >= 0, "max_wait_ms", "must be >= 0")
        check(self.queue_size >= 1, "queue_size", "must be at least 1")
        check(self.request_timeout_s > 0, "request_timeout_s", "must be > 0")
        check(self.max_inputs >= 1, "max_inputs", "must be at least 1")
        check(self.max_chars >= 1, "max_chars", "must be at least 1")
        check(self.max_body_bytes >= 1, "max_body_bytes", "must be at least 1")
        check(0 <= self.port < 65536, "port", "must be in [0, 65535]")
        check(self.threads >= 1, "threads", "must be at least 1")
        check(self.retry_after_s >= 1, "retry_after_s", "must be at least 1")
        check(self.drain_timeout_s > 0, "drain_timeout_s", "must be > 0")
