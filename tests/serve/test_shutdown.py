"""SIGTERM on a real server process: it stops accepting, answers every accepted request, exits."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from servehelp import free_port
from prometheus_client.parser import text_string_to_metric_families

import attnpred

ROOT = Path(__file__).resolve().parents[2]


def in_flight(url: str) -> float:
    text = httpx.get(url + "/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        if family.name == "attnpred_requests_in_flight":
            return family.samples[0].value
    return 0.0


def test_sigterm_answers_every_accepted_request(run_dir):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # a long batching wait keeps accepted requests queued when the signal arrives
    env = {k: v for k, v in os.environ.items() if k != "ATTNPRED_API_KEYS"}  # anonymous
    proc = subprocess.Popen(
        [sys.executable, "-m", "attnpred.cli.serve", "serve", str(run_dir), "--port", str(port),
         "--allow-anonymous", "--max-wait-ms", "1500", "--max-batch", "256",
         "--log-level", "warning"], cwd=ROOT, env={**env, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.1)
        texts = [f"profit rose in the quarter {i}" for i in range(16)]
        expected = [p.label for p in attnpred.load(run_dir).predict(texts)]
        with ThreadPoolExecutor(16) as pool:
            futures = [pool.submit(httpx.post, url + "/v1/predict", json={"inputs": [t]},
                                   timeout=30) for t in texts]
            wait_until = time.monotonic() + 20
            while in_flight(url) < len(texts):  # every request accepted and waiting
                assert time.monotonic() < wait_until, [f.result().status_code for f in futures
                                                       if f.done()]
                time.sleep(0.02)
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            refused = False
            try:
                httpx.get(url + "/healthz", timeout=2)
            except httpx.ConnectError:
                refused = True
            answers = [f.result() for f in futures]
        assert refused, "still accepting connections after SIGTERM"
        assert [a.status_code for a in answers] == [200] * len(texts)
        assert [a.json()["results"][0]["label"] for a in answers] == expected
        # uvicorn re-raises the signal once drained, so the exit status says SIGTERM
        assert proc.wait(30) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
