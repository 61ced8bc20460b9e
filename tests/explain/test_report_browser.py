"""The HTML report in headless Chromium: offline, no console error, selectors change the
shading, 1,000 examples page, 2,000 tokens render fast, input text cannot run script."""
from __future__ import annotations

import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from textdata import synthetic_rows

from attnpred.explain import explain
from attnpred.explain.html import write_report
from attnpred.models.classifier import ClassifierConfig, TransformerClassifier
from attnpred.tasks.classify_predictor import ClassifierPredictor

SHOTS = Path(__file__).parent / "screenshots"
XSS = "profit rose <script>alert(1)</script> \"><img src=x onerror=alert(2)> & more"


def shading(page) -> list[str]:
    return page.eval_on_selector_all(
        ".card .row:first-of-type .tok, .card .probs + .row .tok",
        "els => els.map(e => e.style.backgroundColor)")


def open_report(page, path: Path) -> float:
    start = time.perf_counter()
    page.goto(path.as_uri())
    page.wait_for_selector(".card")
    return time.perf_counter() - start


@pytest.fixture(scope="module")
def report(classifier, tmp_path_factory) -> Path:
    inputs = [{"text": "the company said profit rose in the quarter.", "label": "positive",
               "rationale": [0, 0, 0, 1, 1, 0, 0, 0]}, XSS, "sales fell , shares cut"]
    ex = explain(classifier, inputs, methods=["attention", "head_mean", "rollout", "gradient",
                                              "pooling"], faithfulness=["rollout"])
    return write_report(ex, tmp_path_factory.mktemp("report") / "report.html",
                        title="<b>title</b> & co")


def test_opens_offline_without_errors_and_shows_the_prediction(page, report):
    open_report(page, report)
    assert page.errors == [] and page.blocked == []
    assert page.title() == "<b>title</b> & co"
    assert page.text_content("#title") == "<b>title</b> & co"
    first = page.locator(".card").first
    assert "positive" in first.text_content() or "negative" in first.text_content()
    assert first.locator(".faith table").count() == 1
    assert "AUPRC" in first.locator(".scores").text_content()
    html = report.read_text()
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "classify.png"), full_page=True)


def test_csp_allows_no_network_and_no_unlisted_script(report):
    html = report.read_text()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert html.count("<script") == html.count("</script>") == 2  # data block, hashed script


def test_layer_and_head_selectors_change_the_shading(page, report):
    open_report(page, report)
    page.select_option("#method", "attention")
    before = shading(page)
    page.select_option("#head", "2")
    after_head = shading(page)
    page.select_option("#layer", "2")
    after_layer = shading(page)
    assert len(before) == len(after_head) > 0
    assert before != after_head and after_head != after_layer
    page.select_option("#method", "rollout")
    assert page.is_disabled("#head") and shading(page) != after_layer
    assert page.errors == []


def test_script_in_an_input_shows_as_text_and_runs_nothing(page, report):
    open_report(page, report)
    page.wait_for_timeout(200)
    assert page.dialogs == [] and page.errors == []
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 2
    words = page.eval_on_selector_all(".card:nth-child(2) .tok",
                                      "els => els.map(e => e.textContent)")
    assert "<" in words and "script" in words and "alert" in words


def test_a_thousand_examples_open_page_search_and_sort(page, classifier, tmp_path):
    texts = [t for t, _ in synthetic_rows(1000, 3)]
    ex = explain(classifier, [{"text": t, "label": y} for t, y in synthetic_rows(1000, 3)])
    path = write_report(ex, tmp_path / "big.html")
    seconds = open_report(page, path)
    assert page.locator(".card").count() == 20 and seconds < 5
    assert "of 50" in page.text_content("#page")
    first = page.locator(".card").first.get_attribute("data-index")
    page.click("#next")
    assert page.locator(".card").first.get_attribute("data-index") != first
    assert "page 2 of 50" in page.text_content("#page")
    query = " ".join(texts[0].split()[:3])
    hits = sum(query in t for t in texts)
    page.fill("#search", query)
    # wait_for_function evaluates a string, which the report's CSP forbids: poll a locator
    page.locator("#page", has_text=re.compile(rf"^page 1 of \d+ · {hits} shown")).wait_for()
    assert all(query in c for c in page.locator(".card .row .tokens").all_text_contents())
    page.fill("#search", "")
    page.select_option("#sort", "confidence-asc")
    page.wait_for_timeout(50)
    conf = [float(c.split("p = ")[1].split()[0][:5]) for c in
            page.locator(".card .title").all_text_contents()]
    assert conf == sorted(conf)
    page.select_option("#sort", "error")
    wrong = sum(e.gold_label != e.label for e in ex)
    top = page.locator(".card .title").first.text_content()
    assert ("✗" in top) == (wrong > 0)
    assert page.errors == []


@pytest.fixture(scope="module")
def long_model(classifier):
    """An untrained 1-layer classifier that reads 2,100 tokens (speed, not accuracy)."""
    tok = classifier.tokenizer
    cfg = ClassifierConfig(vocab_size=len(tok), num_labels=3, dim=16, heads=2, layers=1,
                           ff_dim=32, dropout=0.0, max_len=2100, pooling="attention")
    return ClassifierPredictor(TransformerClassifier(cfg), tok, classifier.labels,
                               SimpleNamespace(max_len=2100, eval_batch_size=4,
                                               supervision=None))


def test_two_thousand_tokens_render_in_under_two_seconds(page, long_model, tmp_path):
    words = [t for t, _ in synthetic_rows(400, 1)]
    text = " ".join(" ".join(words).split()[:2000])
    ex = explain(long_model, [text], methods=["attention", "rollout", "pooling"])
    assert len(ex[0].tokens) >= 2000
    path = write_report(ex, tmp_path / "long.html", method="attention")
    seconds = open_report(page, path)
    assert page.locator(".tok").count() == len(ex[0].words) >= 2000
    start = time.perf_counter()
    page.select_option("#head", "2")  # the change handler redraws synchronously
    assert page.locator(".tok").count() >= 2000
    switch = time.perf_counter() - start
    assert seconds < 2.0 and switch < 2.0, (seconds, switch)
    assert page.errors == []


def test_seq2seq_view_draws_the_matrix_links_and_gold(page, seq2seq, tmp_path):
    ex = explain(seq2seq, ["a dog runs", {"src": "the cat runs", "tgt": "die Katze rennt",
                                          "alignment": "0-0 1-1 2-1"}])
    path = write_report(ex, tmp_path / "s2s.html", method="cross")
    open_report(page, path)
    forced = page.locator(".card").nth(1)
    v, w = len(ex[1].tgt_words), len(ex[1].src_words)
    assert forced.locator("svg.matrix rect[data-w]").count() == v * w
    assert forced.locator("circle.link").count() == len(ex[1].links)
    assert forced.locator("rect.gold-link").count() == 3
    assert "die Katze rennt" in forced.text_content()
    cells = lambda: forced.locator("svg.matrix rect[data-w]").evaluate_all(  # noqa: E731
        "els => els.map(e => e.getAttribute('data-w'))")
    before = cells()
    page.select_option("#layer", "2")
    assert cells() != before
    assert page.errors == []
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "seq2seq.png"), full_page=True)


def test_forecast_view_draws_history_forecast_truth_and_attention(page, forecaster, tmp_path):
    predictor, csv = forecaster
    ex = explain(predictor, [{"series": str(csv), "end": 200}])
    path = write_report(ex, tmp_path / "fc.html")
    open_report(page, path)
    card = page.locator(".card").first
    for cls in ("history", "prediction", "truth"):
        assert card.locator(f"path.{cls}").count() == 1
    bars = lambda: card.locator("rect.att").evaluate_all(  # noqa: E731
        "els => els.map(e => e.getAttribute('data-w'))")
    first = bars()
    assert len(first) == 48
    assert [float(x) for x in first] == pytest.approx(ex[0].maps["history"][0], abs=2e-3 *
                                                      float(ex[0].maps["history"].max()) + 1e-5)
    page.select_option("#channel", "OT")
    card = page.locator(".card").first
    assert bars() != first and "OT" in card.text_content()
    assert page.errors == []
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "forecast.png"), full_page=True)
