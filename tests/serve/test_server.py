"""The server against a real uvicorn on 127.0.0.1: every route and status, batching, metrics."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from servehelp import KEY, serving
from prometheus_client.parser import text_string_to_metric_families

import attnpred
from attnpred.errors import AttnpredError
from attnpred.serve.app import build_app
from attnpred.serve.config import ServeConfig
from attnpred.serve.models import result_dict

TEXTS = ["the company said profit rose in the quarter", "sales fell in its year",
         "the market said shares in the quarter", "record growth for the company"]


class Slow:
    """A predictor that waits ``seconds`` (or for ``gate``) before each predict."""

    def __init__(self, inner, seconds: float = 0.0, gate: threading.Event | None = None):
        self.inner, self.seconds, self.gate = inner, seconds, gate
        self.calls: list[int] = []

    def predict(self, inputs, **kw):
        if self.gate is not None:
            self.gate.wait(30)
        time.sleep(self.seconds)
        self.calls.append(len(inputs))
        return self.inner.predict(inputs, **kw)


@pytest.fixture(scope="module")
def server(run_dir):
    with serving([f"news={run_dir}", f"other={run_dir}"], max_inputs=8, max_chars=200,
                 max_body_bytes=4000, max_wait_ms=20) as srv:
        yield srv


def test_answers_equal_offline_predict_with_attention(server, run_dir):
    offline = attnpred.load(run_dir).predict(TEXTS, return_attention=True)
    res = server.predict(TEXTS, return_attention=True, model="news")
    assert res.status_code == 200
    body = res.json()
    assert body["model"] == "news" and body["task"] == "classify"
    for got, want in zip(body["results"], offline):
        want = result_dict(want)
        assert got["label"] == want["label"] and got["words"] == want["words"]
        assert got["probabilities"] == pytest.approx(want["probabilities"], abs=1e-5)
        assert got["word_attention"] == pytest.approx(want["word_attention"], abs=1e-5)
    plain = server.predict(TEXTS[:1], model="other").json()["results"][0]
    assert plain.get("word_attention") is None and plain["label"] == offline[0].label


def test_concurrent_requests_are_batched_and_each_gets_its_own_slice(server, run_dir):
    offline = {t: p.label for t, p in zip(TEXTS, attnpred.load(run_dir).predict(TEXTS))}
    jobs = [[TEXTS[i % 4], TEXTS[(i + 1) % 4]] for i in range(24)]
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda j: server.predict(j, model="news"), jobs))
    for job, res in zip(jobs, answers):
        assert res.status_code == 200
        assert [r["label"] for r in res.json()["results"]] == [offline[t] for t in job]
        assert [r["text"] for r in res.json()["results"]] == job
    families = {f.name: f for f in text_string_to_metric_families(
        server.anonymous.get("/metrics").text)}
    sizes = {s.name: s.value for s in families["attnpred_batch_size"].samples
             if s.labels.get("model") == "news"}
    # 24 requests of 2 inputs arrived together: fewer forwards than requests
    assert sizes["attnpred_batch_size_sum"] / sizes["attnpred_batch_size_count"] > 2


def test_api_key_required_and_compared(server):
    assert server.anonymous.post("/v1/predict", json={"inputs": ["x"], "model": "news"}
                                 ).status_code == 401
    wrong = server.anonymous.post("/v1/predict", json={"inputs": ["x"], "model": "news"},
                                  headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"
    ok = server.anonymous.post("/v1/predict", json={"inputs": ["x"], "model": "news"},
                               headers={"Authorization": f"Bearer {KEY}"})
    assert ok.status_code == 200


def test_request_limits_name_the_limit(server):
    many = server.predict(["profit"] * 9, model="news")
    assert many.status_code == 413 and "max_inputs=8" in many.json()["detail"]
    long = server.predict(["word " * 50], model="news")
    assert long.status_code == 422 and "max_chars is 200" in long.json()["detail"]
    body = server.client.post("/v1/predict", content=b'{"inputs": ["' + b"a" * 5000 + b'"]}',
                              headers={"Content-Type": "application/json"})
    assert body.status_code == 413 and "max_body_bytes=4000" in body.json()["detail"]
    assert server.predict(TEXTS).status_code == 422  # two models: which one?
    assert server.predict(TEXTS, model="nope").status_code == 404
    assert server.client.post("/v1/predict", json={"model": "news"}).status_code == 422
    assert server.client.post("/v1/predict", json={"inputs": "not a list"}).status_code == 422


def test_health_openapi_page_and_explain(server):
    assert server.anonymous.get("/healthz").json() == {"status": "ok"}
    assert server.anonymous.get("/readyz").status_code == 200
    schema = server.anonymous.get("/openapi.json").json()
    assert "/v1/predict" in schema["paths"]
    assert server.anonymous.get("/docs").status_code == 404  # FastAPI's docs use a CDN
    page = server.anonymous.get("/")
    assert page.status_code == 200 and "default-src 'none'" in \
        page.headers["Content-Security-Policy"]
    for asset in ("/", "/static/app.js", "/static/app.css"):
        assert "http" not in server.anonymous.get(asset).text.replace("http-equiv", "")


def test_explain_answers_the_explain_modules_json_or_501(server):
    explain = server.client.post("/v1/explain", json={"inputs": TEXTS[:1], "model": "news"})
    try:
        from attnpred.explain import explain as _  # noqa: F401
    except ImportError:
        assert explain.status_code == 501
        return
    assert explain.status_code == 200
    (one,) = explain.json()["explanations"]
    assert one["text"] == TEXTS[0] and one["words"] == TEXTS[0].split()
    html = server.client.post("/v1/explain", json={"inputs": TEXTS[:1], "model": "news",
                                                   "format": "html"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert server.anonymous.post("/v1/explain", json={"inputs": ["x"]}).status_code == 401


def test_metrics_parse_and_count_requests(server):
    server.predict(TEXTS[:1], model="news")
    server.anonymous.post("/v1/predict", json={"inputs": ["x"]})  # 401
    families = {f.name: f for f in text_string_to_metric_families(
        server.anonymous.get("/metrics").text)}
    requests = {(s.labels["route"], s.labels["status"]): s.value
                for s in families["attnpred_requests"].samples if s.name.endswith("_total")}
    assert requests[("/v1/predict", "200")] >= 1 and requests[("/v1/predict", "401")] >= 1
    info = [s.labels for s in families["attnpred_model_info"].samples]
    assert {i["model"] for i in info} == {"news", "other"}
    assert all(i["task"] == "classify" and i["backend"] == "torch" for i in info)
    load = [s.value for s in families["attnpred_model_load_seconds"].samples]
    assert len(load) == 2 and all(v > 0 for v in load)
    assert "attnpred_request_seconds" in families and "attnpred_queue_depth" in families


def test_not_ready_until_loaded_and_warmed_up(run_dir):
    gate = threading.Event()
    with serving([str(run_dir)], loader=lambda run: Slow(attnpred.load(run), gate=gate),
                 wait=False) as srv:
        assert srv.anonymous.get("/healthz").status_code == 200
        ready = srv.anonymous.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "loading"
        early = srv.predict(TEXTS[:1])
        assert early.status_code == 503 and "Retry-After" in early.headers
        gate.set()
        srv.wait_ready(30)
        assert srv.predict(TEXTS[:1]).status_code == 200


def test_full_queue_gets_429_at_once_and_slow_answers_504(run_dir):
    with serving([str(run_dir)], loader=lambda run: Slow(attnpred.load(run), seconds=0.4),
                 queue_size=1, max_batch=1, max_wait_ms=0, request_timeout_s=1.0) as srv:
        def timed():
            started = time.monotonic()
            res = srv.predict(TEXTS[:1])
            return res, time.monotonic() - started

        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda _: timed(), range(6)))
        codes = sorted(r.status_code for r, _ in answers)
        assert 429 in codes and 200 in codes and set(codes) <= {200, 429, 504}
        for res, seconds in answers:
            if res.status_code == 429:
                assert res.headers["Retry-After"] == "1" and seconds < 0.4  # at once
    with serving([str(run_dir)], loader=lambda run: Slow(attnpred.load(run), seconds=0.5),
                 request_timeout_s=0.2) as srv:
        started = time.monotonic()
        res = srv.predict(TEXTS[:1])
        assert res.status_code == 504 and "request_timeout_s" in res.json()["detail"]
        assert time.monotonic() - started < 0.45  # answered at the time-out, not after


def test_refuses_to_start_without_keys_unless_anonymous(run_dir, monkeypatch):
    monkeypatch.delenv("ATTNPRED_API_KEYS", raising=False)
    with pytest.raises(AttnpredError, match="API key"):
        build_app(ServeConfig(runs=[str(run_dir)]))
    build_app(ServeConfig(runs=[str(run_dir)], allow_anonymous=True))
    with pytest.raises(AttnpredError, match="no config.json"):
        build_app(ServeConfig(runs=["/nonexistent"], allow_anonymous=True))
    with pytest.raises(AttnpredError, match="max_batch"):
        ServeConfig(max_batch=0)


def test_key_is_never_logged(run_dir, caplog):
    caplog.set_level("DEBUG")
    with serving([str(run_dir)]) as srv:
        srv.predict(TEXTS[:1])
        srv.anonymous.post("/v1/predict", json={"inputs": ["x"]}, headers={"X-API-Key": "bad"})
    assert KEY not in caplog.text and "bad" not in caplog.text.split()


def test_client_helpers_see_a_closed_port_after_stop(run_dir):
    with serving([str(run_dir)]) as srv:
        url = srv.url
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/healthz", timeout=2)


def test_readyz_turns_503_while_draining(server):
    state = server.app.state.serve_state
    state["draining"] = True
    try:
        res = server.anonymous.get("/readyz")
        assert res.status_code == 503 and res.json()["status"] == "draining"
    finally:
        state["draining"] = False
    assert server.anonymous.get("/readyz").status_code == 200


def test_csv_upload_is_read_with_the_runs_read_inputs(server, run_dir):
    predictor = attnpred.load(run_dir)
    res = server.client.post("/v1/predict", json={
        "csv": "text\n" + "\n".join(TEXTS[:2]) + "\n", "model": "news"})
    if not hasattr(predictor, "read_inputs"):  # before the predictor contract landed
        assert res.status_code == 422
        return
    assert res.status_code == 200
    assert [r["text"] for r in res.json()["results"]] == TEXTS[:2]
    both = server.client.post("/v1/predict", json={"csv": "text\nx\n", "inputs": ["x"],
                                                   "model": "news"})
    assert both.status_code == 422 and "exactly one" in both.json()["detail"]
