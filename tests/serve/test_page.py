"""The web page in headless Chromium: type a sentence, see the label and the shaded words."""
from __future__ import annotations

import pytest
from servehelp import KEY, serving

try:
    from browser import new_page, open_browser, skip_reason
except ImportError:  # tests/browser.py (the headless-browser helper) is not in this checkout
    pytest.skip("tests/browser.py, the headless-Chromium helper, is missing",
                allow_module_level=True)

import attnpred

TEXT = "the company said profit rose in the quarter"


@pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason()))
def test_page_shows_prediction_and_attention_over_words(run_dir):
    want = attnpred.load(run_dir).predict([TEXT], return_attention=True)[0]
    with serving([f"news={run_dir}"]) as srv, open_browser(offline=False) as context:
        page = new_page(context, offline=False)
        outside = []

        def guard(route):  # the page may talk to this server only
            if route.request.url.startswith(srv.url):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()
        page.route("**/*", guard)
        page.goto(srv.url + "/")
        page.fill("#key", KEY)
        page.dispatch_event("#key", "change")
        page.wait_for_selector("#model option[value='news']", state="attached")
        page.fill("#text", TEXT)
        page.click("#predict")
        page.wait_for_selector("#words span")
        assert page.inner_text("#label") == want.label
        spans = page.query_selector_all("#words span")
        assert [s.inner_text() for s in spans] == want.words
        weights = [float(s.get_attribute("data-attention")) for s in spans]
        assert weights == pytest.approx(want.word_attention, abs=1e-3)
        shades = {s.evaluate("e => getComputedStyle(e).backgroundColor") for s in spans}
        assert len(shades) > 1  # shaded by attention, not one colour
        assert len(page.query_selector_all("#probs tr")) == len(want.probabilities)
        page.fill("#key", "wrong")
        page.click("#predict")
        page.wait_for_selector("#status:has-text('401')")  # (CSP forbids wait_for_function)
        assert outside == [] and not [e for e in page.errors if "401" not in e]
