"""A tiny trained classifier run and a real uvicorn server on 127.0.0.1 for the serve tests."""
from __future__ import annotations

import os
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
from textdata import synthetic_rows, write_csv

KEY = "test-key-0123456789"


def tiny_classifier_run(root: Path) -> Path:
    """A 1-layer scratch classifier on synthetic sentiment data (a few seconds)."""
    from attnpred.models.classifier import ClassifierConfig
    from attnpred.tasks.classify import ClassifyRunConfig, train_classifier
    from attnpred.tasks.classify_data import TextDataConfig
    from attnpred.training.trainer import TrainerConfig
    train = write_csv(root / "train.csv", synthetic_rows(300, 0))
    cfg = ClassifyRunConfig(
        model="scratch", data=TextDataConfig(train=str(train)), vocab_size=200, batch_size=16,
        scratch=ClassifierConfig(dim=32, heads=2, layers=1, ff_dim=64, dropout=0.0, max_len=16,
                                 pooling="attention"),
        trainer=TrainerConfig(epochs=8, lr=5e-3, progress=False, tensorboard=False))
    train_classifier(cfg, root / "run")
    return root / "run"


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    return tiny_classifier_run(tmp_path_factory.mktemp("serve-run"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running server: its base URL, a client with the key, and the app."""

    def __init__(self, url: str, app: Any) -> None:
        self.url, self.app = url, app
        self.client = httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=30)
        self.anonymous = httpx.Client(base_url=url, timeout=30)

    def predict(self, inputs, **body) -> httpx.Response:
        return self.client.post("/v1/predict", json={"inputs": inputs, **body})

    def wait_ready(self, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.anonymous.get("/readyz").status_code == 200:
                return
            time.sleep(0.05)
        raise TimeoutError("server not ready")


@contextmanager
def serving(runs: list[str], loader: Callable | None = None, wait: bool = True,
            **settings: Any) -> Iterator[Server]:
    """Start uvicorn in a thread on a free loopback port; stop it on exit."""
    from attnpred.serve.config import ServeConfig
    from attnpred.serve.server import make_server
    cfg = ServeConfig(runs=runs, port=free_port(), log_level="warning",
                      api_keys_env="ATTNPRED_TEST_SERVE_KEYS", **settings)
    os.environ["ATTNPRED_TEST_SERVE_KEYS"] = KEY
    try:
        server = make_server(cfg, loader)  # the keys are read here
    finally:
        del os.environ["ATTNPRED_TEST_SERVE_KEYS"]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("server failed to start")
        time.sleep(0.02)
    srv = Server(f"http://127.0.0.1:{cfg.port}", server.config.app)
    try:
        if wait:
            srv.wait_ready()
        yield srv
    finally:
        server.should_exit = True
        thread.join(30)
        srv.client.close()
        srv.anonymous.close()
