"""Load test of ``attnpred serve`` on loopback (issue 12).

The MiniLM classifier (FPB AllAgree, the run benchmarks/export.py trains) answers single-text
requests from a closed-loop load generator (asyncio + httpx, C workers, a fixed number of
requests per level, concurrency 1, 8, 32, 128) on 127.0.0.1. Three servers, each its own
process with one torch thread, started and stopped here:

* ``attnpred-batching``: ``attnpred serve`` with micro-batching (max_batch 32, max_wait 2 ms),
  every request with ``return_attention``;
* ``attnpred-no-batching``: the same server with max_batch 1 (one forward per request);
* ``attnpred-batching-onnx-int8``: micro-batching on the int8 ONNX export
  (``--backend onnx --onnx-file model.int8.onnx``, written by benchmarks/export.py);
* ``fastapi-pipeline``: what a user would write: a FastAPI endpoint calling a ``transformers``
  text-classification pipeline per request (the same MiniLM encoder; its classifier head is
  untrained, which changes no timing), without attention.

Then an overload run: 512 requests (--overload) at concurrency 256 against a queue of 32 requests: the share
of 429s, the count of 5xx and transport errors (accepted requests lost), and every 200 checked
against offline ``predict`` of the same run (label equal, probabilities within 1e-4).

Run:  flock /tmp/attnpred-cpu.lock .venv/bin/python benchmarks/serve.py [--requests 256]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from common import ROOT, record, write_results  # noqa: E402  (repository on sys.path)

LEVELS = (1, 8, 32, 128)
DATASET = "fpb-allagree"


# ---- the alternative: FastAPI + a transformers pipeline per request ----------------------------
class PipelineBody(BaseModel):
    inputs: list[str]


def pipeline_app():
    """The endpoint a user would write around a transformers pipeline."""
    import torch
    from fastapi import FastAPI
    from transformers import AutoModelForSequenceClassification, pipeline
    from transformers.utils import logging

    from attnpred.data.encoding import load_tokenizer
    from attnpred.models.hf_classifier import minilm_dir
    torch.set_num_threads(1)
    logging.set_verbosity_error()
    model = AutoModelForSequenceClassification.from_pretrained(minilm_dir(), num_labels=3,
                                                               local_files_only=True).eval()
    pipe = pipeline("text-classification", model=model, tokenizer=load_tokenizer(minilm_dir()),
                    device="cpu")
    app = FastAPI()

    @app.post("/v1/predict")
    def predict(body: PipelineBody) -> dict:  # a plain def: FastAPI runs it in its thread pool
        return {"results": pipe(body.inputs, truncation=True, max_length=128)}

    @app.get("/readyz")
    def ready() -> dict:
        return {"status": "ready"}
    return app


# ---- servers --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(kind: str, run: Path, port: int, queue_size: int = 1024) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ATTNPRED_API_KEYS": ""}
    if kind == "fastapi-pipeline":
        cmd = [sys.executable, str(Path(__file__)), "--pipeline-server", "--port", str(port)]
    else:
        batch = ["--max-batch", "1", "--max-wait-ms", "0"] if kind == "attnpred-no-batching" \
            else ["--max-batch", "32", "--max-wait-ms", "2"]
        if kind == "attnpred-batching-onnx-int8":
            batch += ["--backend", "onnx", "--onnx-file", "model.int8.onnx"]
        cmd = [sys.executable, "-m", "attnpred.cli.serve", "serve", str(run), "--port",
               str(port), "--allow-anonymous", "--threads", "1", "--queue-size",
               str(queue_size), "--request-timeout-s", "60", "--log-level", "warning", *batch]
    return subprocess.Popen(cmd, cwd=ROOT, env=env)


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    import httpx
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("server not ready in time")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---- load generator ----------------------------------------------------------------------------
async def load(url: str, texts: list[str], n: int, concurrency: int,
               attention: bool) -> list[tuple[int, float, Any, str]]:
    """n requests, one text each, from ``concurrency`` closed-loop workers; stops by itself.

    Returns (status or -1 for a transport error, seconds, JSON body or None, text) per request.
    """
    import httpx
    out: list[tuple[int, float, Any, str]] = []
    counter = iter(range(n))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        async def worker() -> None:
            for i in counter:
                text = texts[i % len(texts)]
                start = time.perf_counter()
                try:
                    res = await client.post("/v1/predict", json={
                        "inputs": [text], "return_attention": attention})
                    status = res.status_code
                    body = res.json() if status == 200 else \
                        {"retry_after": res.headers.get("Retry-After")}
                except httpx.TransportError:
                    status, body = -1, None
                out.append((status, time.perf_counter() - start, body, text))
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return out


def summarise(results: list, seconds: float) -> dict[str, float]:
    lat = np.array([r[1] for r in results if r[0] == 200]) * 1000
    codes = [r[0] for r in results]
    return {"requests": len(results), "ok": codes.count(200), "wall_s": round(seconds, 3),
            "throughput_rps": round(codes.count(200) / seconds, 2),
            "p50_ms": round(float(np.percentile(lat, 50)), 2),
            "p95_ms": round(float(np.percentile(lat, 95)), 2),
            "p99_ms": round(float(np.percentile(lat, 99)), 2),
            "status_429": codes.count(429), "status_5xx": sum(500 <= c < 600 for c in codes),
            "transport_errors": codes.count(-1)}


def check_against_offline(results: list, offline: dict[str, Any]) -> dict[str, float]:
    """200 answers against offline predict: label mismatches, probabilities off by more than
    1e-4, and the largest probability difference (dynamic int8 quantizes activations per
    batch, so its probabilities depend on the batch a request joined; its labels should not)."""
    labels = probs = 0
    worst = 0.0
    for status, _, body, text in results:
        if status != 200:
            continue
        got, want = body["results"][0], offline[text]
        diff = max(abs(got["probabilities"][k] - v) for k, v in want.probabilities.items())
        labels += got["label"] != want.label
        probs += diff > 1e-4
        worst = max(worst, diff)
    return {"label_mismatches_vs_offline": labels, "prob_mismatches_vs_offline": probs,
            "max_prob_diff_vs_offline": round(worst, 6)}


def batch_totals(url: str) -> tuple[float, float]:
    """(inputs, forwards) so far, from the server's attnpred_batch_size histogram."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families
    total = count = 0.0
    for family in text_string_to_metric_families(httpx.get(url + "/metrics", timeout=10).text):
        for sample in family.samples:
            if sample.name == "attnpred_batch_size_sum":
                total += sample.value
            elif sample.name == "attnpred_batch_size_count":
                count += sample.value
    return total, count


def bench_side(kind: str, run: Path, texts: list[str], n: int, offline: dict,
               levels: tuple[int, ...]) -> list[dict]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start(kind, run, port)
    records = []
    try:
        wait_ready(url, proc)
        attention = kind != "fastapi-pipeline"
        asyncio.run(load(url, texts, 32, 8, attention))  # warm-up, not counted
        for c in levels:
            count = max(n // 4, 32) if c == 1 else n
            before = batch_totals(url) if attention else None
            start_t = time.perf_counter()
            results = asyncio.run(load(url, texts, count, c, attention))
            s = summarise(results, time.perf_counter() - start_t)
            if attention:
                s.update(check_against_offline(results, offline))
                after = batch_totals(url)
                s["mean_batch_size"] = round((after[0] - before[0]) / (after[1] - before[1]), 2)
            print(kind, c, s, flush=True)
            records.append(record(DATASET, "minilm", "test", "throughput_rps",
                                  s["throughput_rps"], s["wall_s"], server=kind,
                                  concurrency=c, return_attention=attention, **s))
    finally:
        stop(proc)
    return records


def bench_overload(run: Path, texts: list[str], offline: dict, n: int) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start("attnpred-batching", run, port, queue_size=32)
    try:
        wait_ready(url, proc)
        start_t = time.perf_counter()
        results = asyncio.run(load(url, texts, n, 256, True))
        s = summarise(results, time.perf_counter() - start_t)
    finally:
        stop(proc)
    s["share_429"] = round(s["status_429"] / s["requests"], 4)
    s.update(check_against_offline(results, offline))
    s["accepted_lost"] = s["status_5xx"] + s["transport_errors"]
    s["retry_after_on_every_429"] = all(r[2]["retry_after"] for r in results if r[0] == 429)
    print("overload", s, flush=True)
    return record(DATASET, "minilm", "test", "share_429", s["share_429"], s["wall_s"],
                  server="attnpred-batching", concurrency=256, queue_size=32, **s)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", type=Path, help="the MiniLM run (default: benchmarks/export.py's)")
    ap.add_argument("--requests", type=int, default=256, help="requests per concurrency level")
    ap.add_argument("--levels", default=",".join(map(str, LEVELS)), help="concurrency levels")
    ap.add_argument("--overload", type=int, default=512, help="requests in the overload run")
    ap.add_argument("--pipeline-server", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.pipeline_server:
        import uvicorn
        uvicorn.run(pipeline_app(), host="127.0.0.1", port=args.port, log_level="warning")
        return
    started = time.time()
    from export import DEFAULT_RUN, minilm_run
    run = minilm_run(args.run or DEFAULT_RUN, epochs=3)
    import attnpred
    from attnpred.export.checks import test_examples
    predictor = attnpred.load(run)
    texts, _ = test_examples(run, predictor)
    offline = dict(zip(texts, predictor.predict(texts, return_attention=True)))
    from attnpred.export.onnx_predictor import OnnxPredictor
    int8 = OnnxPredictor.load(run, "model.int8.onnx")  # its answers are checked against itself
    offline_int8 = dict(zip(texts, int8.predict(texts, return_attention=True)))
    del predictor, int8
    records = []
    for kind in ("attnpred-batching", "attnpred-no-batching", "attnpred-batching-onnx-int8",
                 "fastapi-pipeline"):
        records += bench_side(kind, run, texts, args.requests,
                              offline_int8 if kind.endswith("int8") else offline,
                              tuple(int(x) for x in args.levels.split(",")))
    records.append(bench_overload(run, texts, offline, args.overload))
    at = {r["server"]: r for r in records if r.get("concurrency") == 32}
    ref = at["fastapi-pipeline"]
    target = {"concurrency": 32, "goal": "throughput >= 3x fastapi-pipeline at a lower p99"}
    for side in ("attnpred-batching", "attnpred-batching-onnx-int8"):
        ours = at[side]
        ratio = round(ours["throughput_rps"] / ref["throughput_rps"], 2)
        target[side] = {"throughput_ratio_vs_pipeline": ratio, "p99_ms": ours["p99_ms"],
                        "pipeline_p99_ms": ref["p99_ms"],
                        "met": ratio >= 3 and ours["p99_ms"] < ref["p99_ms"]}
    print("target", target)
    path = write_results("serve", records, started, run=str(run), target=target,
                         notes="one torch thread per server; the load generator shares the "
                               "machine's cores with the server under test")
    print("wrote", path)


if __name__ == "__main__":
    main()
