"""The FastAPI application: predict, explain, health, readiness, metrics, the web page.

Routes (``/v1/*`` need an API key when keys are configured):

* ``POST /v1/predict`` {"inputs": [...], "return_attention": false, "model": name} or
  {"csv": "<file content>", ...} -> {"model", "task", "results": [Result.to_dict(), ...]}
* ``POST /v1/explain`` the explain module's JSON, or its HTML report with "format": "html"
* ``GET /healthz`` alive; ``GET /readyz`` 200 once every model answered its warm-up, 503
  before and while draining; ``GET /metrics`` Prometheus text; ``GET /openapi.json``
* ``GET /`` a self-contained page (no CDN, strict CSP) showing attention over the words
"""
from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

from fastapi import FastAPI, Header, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import (FileResponse, HTMLResponse, JSONResponse, PlainTextResponse,
                               Response)
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from attnpred import __version__
from attnpred.errors import AttnpredError
from attnpred.serve.batching import MicroBatcher, QueueFull
from attnpred.serve.config import ServeConfig
from attnpred.serve.metrics import ServerMetrics
from attnpred.serve.models import (load_predictor, parse_run_specs, predict_function, task_of,
                                   warm_up)
from attnpred.serve.security import BodyLimit, KeyCheck, read_keys

log = logging.getLogger("attnpred.serve")
STATIC = Path(__file__).parent / "static"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
ROUTES = {"/", "/v1/predict", "/v1/explain", "/healthz", "/readyz", "/metrics",
          "/openapi.json", "/v1/models", "/static/app.js", "/static/app.css"}


class PredictRequest(BaseModel):
    """A batch to predict: ``inputs`` (texts for text tasks) or ``csv`` (a file's content,
    read with the run's ``read_inputs``, e.g. a series for a forecast run)."""

    inputs: list[Any] | None = Field(None, description="The inputs, e.g. texts.")
    csv: str | None = Field(None, description="Content of a CSV file to read the inputs from.")
    return_attention: bool = Field(False, description="Add attention to each result.")
    model: str | None = Field(None, description="Which served run (needed when several are).")


class ExplainRequest(PredictRequest):
    """Inputs to explain, answered as the explain module's JSON or its offline HTML report."""

    format: Literal["json", "html"] = Field("json", description="'json' or 'html'.")


@dataclass
class Slot:
    """One served model: its run, predictor, batcher and load state."""

    name: str
    run_dir: Path
    task: str
    predictor: Any = None
    batcher: MicroBatcher | None = None
    ready: bool = False
    error: str | None = None


Loader = Callable[[Path], Any]


def build_app(cfg: ServeConfig, loader: Loader | None = None) -> FastAPI:
    """The application for ``cfg``; ``loader(run_dir) -> predictor`` replaces the default
    (``attnpred.load`` or the ONNX predictor), e.g. in tests."""
    runs = parse_run_specs(cfg.runs)
    keys = KeyCheck(read_keys(cfg.api_keys_file, cfg.api_keys_env))
    if not keys.enabled and not cfg.allow_anonymous:
        raise AttnpredError(f"no API key configured: give --api-keys-file or set "
                            f"{cfg.api_keys_env}, or pass --allow-anonymous", field="api_keys")
    loader = loader or (lambda run: load_predictor(run, cfg))
    metrics = ServerMetrics()
    slots = {name: Slot(name, run, task_of(run)) for name, run in runs.items()}
    state = {"draining": False}
    rules = None
    if cfg.monitor_rules:
        from attnpred.serve.monitor import load_rules
        rules = load_rules(cfg.monitor_rules)  # a bad rules file stops the start, not a model

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        thread = threading.Thread(target=_load_all, args=(cfg, slots, loader, metrics, rules),
                                  name="model-loader", daemon=True)
        thread.start()
        yield
        for slot in slots.values():  # uvicorn has answered every accepted request by now
            if slot.batcher is not None:
                await run_in_threadpool(slot.batcher.close, cfg.drain_timeout_s)

    app = FastAPI(title="attnpred", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,  # FastAPI's docs pages load from a CDN
                  description="Predictions with attention from attnpred runs.")
    app.state.slots, app.state.metrics, app.state.serve_state = slots, metrics, state

    def authorise(authorization: str | None, x_api_key: str | None) -> None:
        if not keys.allows(authorization, x_api_key):
            raise HTTPException(401, "missing or invalid API key",
                                headers={"WWW-Authenticate": "Bearer"})

    @app.post("/v1/predict", response_model=None,
              responses={200: {"description": '{"model", "task", "results": [...]}'}})
    async def predict(body: PredictRequest, authorization: str | None = Header(None),
                      x_api_key: str | None = Header(None)) -> Response:
        """Predict a batch; each result is the run's ``Result.to_dict()``."""
        authorise(authorization, x_api_key)
        slot = _pick(slots, body.model)
        inputs = await _inputs(body, slot, cfg)
        results = await _submit(slot, inputs, (body.return_attention,), cfg, metrics)
        # the results are JSON-ready already: json.dumps skips FastAPI's jsonable_encoder walk
        return Response(json.dumps({"model": slot.name, "task": slot.task, "results": results}),
                        media_type="application/json")

    @app.post("/v1/explain", response_model=None)
    async def explain(body: ExplainRequest, authorization: str | None = Header(None),
                      x_api_key: str | None = Header(None)) -> dict | HTMLResponse:
        """Explanations of each input from ``attnpred.explain`` (every layer and head at word
        level, derived maps) as JSON, or as its self-contained HTML report."""
        authorise(authorization, x_api_key)
        slot = _pick(slots, body.model)
        if slot.predictor is None:
            raise HTTPException(503, f"model {slot.name!r} is not ready",
                                headers={"Retry-After": str(cfg.retry_after_s)})
        inputs = await _inputs(body, slot, cfg)
        try:
            from attnpred.explain import explain as run_explain
        except ImportError:
            raise HTTPException(501, "explanations are not available in this version") from None
        try:  # not batched: an explanation is a heavier, rarer request
            found = await asyncio.wait_for(run_in_threadpool(run_explain, slot.predictor,
                                                             inputs), cfg.request_timeout_s)
        except AttnpredError as exc:
            raise HTTPException(422, str(exc)) from None
        except asyncio.TimeoutError:
            raise HTTPException(504, f"no answer within request_timeout_s="
                                     f"{cfg.request_timeout_s}") from None
        if body.format == "html":
            from attnpred.explain.html import render
            return HTMLResponse(render(found, title=f"attnpred explain: {slot.name}"))
        return {"model": slot.name, "task": slot.task,
                "explanations": [e.to_dict() for e in found]}

    @app.get("/v1/models")
    async def models(authorization: str | None = Header(None),
                     x_api_key: str | None = Header(None)) -> dict:
        """The served models, their tasks and whether each is ready."""
        authorise(authorization, x_api_key)
        return {"models": [{"name": s.name, "task": s.task, "ready": s.ready}
                           for s in slots.values()]}

    @app.get("/healthz")
    async def healthz() -> dict:
        """Alive (the process answers); says nothing about the models."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        """200 once every model is loaded and answered a warm-up; 503 before and while
        draining."""
        waiting = [s.name for s in slots.values() if not s.ready]
        failed = {s.name: s.error for s in slots.values() if s.error}
        if state["draining"] or waiting:
            status = "draining" if state["draining"] else "loading"
            return JSONResponse({"status": status, "waiting": waiting, "failed": failed},
                                status_code=503,
                                headers={"Retry-After": str(cfg.retry_after_s)})
        return JSONResponse({"status": "ready", "models": list(slots)})

    @app.get("/metrics")
    async def prometheus() -> Response:
        """Prometheus text format."""
        for slot in slots.values():
            if slot.batcher is not None:
                metrics.queue_depth.labels(slot.name).set(slot.batcher.depth())
        return PlainTextResponse(generate_latest(metrics.registry),
                                 media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    async def page() -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html",
                            headers=_page_headers())

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        types = {"app.js": "text/javascript", "app.css": "text/css"}
        if name not in types:
            raise HTTPException(404, "not found")
        return FileResponse(STATIC / name, media_type=types[name], headers=_page_headers())

    app.add_middleware(BodyLimit, limit=cfg.max_body_bytes)
    app.add_middleware(RequestMetrics, metrics=metrics)
    return app


# ---- request handling -----------------------------------------------------------------------
def _pick(slots: dict[str, Slot], name: str | None) -> Slot:
    if name is None:
        if len(slots) > 1:
            raise HTTPException(422, f"several models are served; name one in 'model': "
                                     f"{sorted(slots)}")
        return next(iter(slots.values()))
    if name not in slots:
        raise HTTPException(404, f"unknown model {name!r}; served: {sorted(slots)}")
    return slots[name]


async def _inputs(body: PredictRequest, slot: Slot, cfg: ServeConfig) -> list[Any]:
    if (body.inputs is None) == (body.csv is None):
        raise HTTPException(422, "give exactly one of 'inputs' and 'csv'")
    if body.csv is not None:
        inputs = await run_in_threadpool(_read_csv_inputs, slot, body.csv)
    else:
        inputs = body.inputs
    if not inputs:
        raise HTTPException(422, "no inputs")
    if len(inputs) > cfg.max_inputs:
        raise HTTPException(413, f"{len(inputs)} inputs exceed the limit max_inputs="
                                 f"{cfg.max_inputs}")
    for i, x in enumerate(inputs):
        if isinstance(x, str) and len(x) > cfg.max_chars:
            raise HTTPException(422, f"input {i} has {len(x)} characters; the limit "
                                     f"max_chars is {cfg.max_chars}")
    return inputs


def _read_csv_inputs(slot: Slot, content: str) -> list[Any]:
    if slot.predictor is None:
        raise HTTPException(503, "model not loaded yet")
    read = getattr(slot.predictor, "read_inputs", None)
    if read is None:
        raise HTTPException(422, f"model {slot.name!r} does not read files")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.csv"
        path.write_text(content, encoding="utf-8")
        try:
            inputs = read(path)
        except AttnpredError as exc:
            raise HTTPException(422, str(exc).replace(str(path), "csv")) from None
    return inputs if isinstance(inputs, list) else [inputs]


async def _submit(slot: Slot, inputs: list[Any], options: tuple, cfg: ServeConfig,
                  metrics: ServerMetrics) -> list[dict]:
    if slot.batcher is None:
        raise HTTPException(503, f"model {slot.name!r} is not ready",
                            headers={"Retry-After": str(cfg.retry_after_s)})
    deadline = time.monotonic() + cfg.request_timeout_s
    try:
        future = slot.batcher.submit(inputs, options, deadline)
    except QueueFull:
        raise HTTPException(429, f"queue full ({cfg.queue_size} requests waiting); retry "
                                 "later", headers={"Retry-After": str(cfg.retry_after_s)})
    metrics.in_flight.inc()
    waiter = asyncio.wrap_future(future)
    try:
        return await asyncio.wait_for(waiter, timeout=max(deadline - time.monotonic(), 0))
    except asyncio.TimeoutError:
        raise HTTPException(504, f"no answer within request_timeout_s="
                                 f"{cfg.request_timeout_s}") from None
    except AttnpredError as exc:
        raise HTTPException(422, str(exc)) from None
    finally:
        metrics.in_flight.dec()


def _page_headers() -> dict[str, str]:
    return {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}


# ---- loading --------------------------------------------------------------------------------
def _load_all(cfg: ServeConfig, slots: dict[str, Slot], loader: Loader,
              metrics: ServerMetrics, rules: tuple | None) -> None:
    """Load, warm up and start a batcher for each model, one after the other."""
    for slot in slots.values():
        start = time.perf_counter()
        try:
            slot.predictor = loader(slot.run_dir)
            warm_up(slot.predictor, cfg.warmup_inputs)
        except Exception as exc:  # noqa: BLE001 - reported by /readyz and the log
            slot.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.error("model %s failed to load: %s", slot.name, slot.error)
            continue
        seconds = time.perf_counter() - start
        metrics.load_seconds.labels(slot.name).set(seconds)
        metrics.model_info.labels(slot.name, slot.task, str(slot.run_dir), cfg.backend).set(1)
        slot.batcher = MicroBatcher(predict_function(slot.predictor), cfg.max_batch,
                                    cfg.max_wait_ms / 1000, cfg.queue_size,
                                    on_batch=_batch_observer(slot, metrics, rules),
                                    name=slot.name)
        slot.ready = True
        log.info("model %s (%s) ready in %.1f s", slot.name, slot.task, seconds)
    metrics.ready.set(all(s.ready for s in slots.values()))


def _batch_observer(slot: Slot, metrics: ServerMetrics, rules: tuple | None):
    """After each forward: batch metrics, then the alert rules on the answered predictions."""
    monitor = None
    if rules is not None:
        from attnpred.serve.monitor import Monitor
        gauge = metrics.rule_value

        def on_value(rule: str, value: float) -> None:
            gauge.labels(slot.name, rule).set(value)
        monitor = Monitor(rules[0], rules[1], slot.name, on_value)

    def observe(n: int, seconds: float, inputs: list, results: list[dict]) -> None:
        metrics.batch_size.labels(slot.name).observe(n)
        metrics.forward_seconds.labels(slot.name).observe(seconds)
        if monitor is not None:
            for alert in monitor.observe(inputs, results):
                metrics.alerts.labels(slot.name, alert["rule"]).inc()
    return observe


class RequestMetrics:
    """ASGI middleware: count requests by route and status and time them."""

    def __init__(self, app, metrics: ServerMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        route = scope["path"] if scope["path"] in ROUTES else "other"
        status = {"code": 500}
        start = time.perf_counter()

        async def send_status(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.requests.labels(route, str(status["code"])).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - start)
