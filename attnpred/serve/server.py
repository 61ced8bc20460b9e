"""Run the application on uvicorn with graceful shutdown.

On SIGTERM (or Ctrl-C) uvicorn stops listening, ``/readyz`` turns 503 ("draining") for
connections still open, every accepted request is answered, the batchers stop, and the
process exits.
"""
from __future__ import annotations

import logging
import socket
from typing import Any

import uvicorn

from attnpred.serve.app import Loader, build_app
from attnpred.serve.config import ServeConfig


class DrainingServer(uvicorn.Server):
    """uvicorn's server that marks the app as draining the moment a stop signal arrives."""

    def __init__(self, config: uvicorn.Config, state: dict[str, Any]) -> None:
        super().__init__(config)
        self._state = state

    def handle_exit(self, sig: int, frame: Any) -> None:
        self._state["draining"] = True
        super().handle_exit(sig, frame)


def make_server(cfg: ServeConfig, loader: Loader | None = None,
                sock: socket.socket | None = None) -> DrainingServer:
    """A uvicorn server for ``cfg`` (not started)."""
    app = build_app(cfg, loader)
    config = uvicorn.Config(app, host=cfg.host, port=cfg.port, log_level=cfg.log_level,
                            timeout_graceful_shutdown=cfg.drain_timeout_s, access_log=False,
                            lifespan="on")
    return DrainingServer(config, app.state.serve_state)


def run_server(cfg: ServeConfig, loader: Loader | None = None) -> None:
    """Serve until SIGTERM/SIGINT, then drain and return."""
    import torch
    torch.set_num_threads(cfg.threads)
    logging.basicConfig(level=cfg.log_level.upper(), format="%(levelname)s: %(message)s")
    make_server(cfg, loader).run()
