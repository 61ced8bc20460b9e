"""tests/browser.py: finds the system Chromium, and says why when it cannot."""
import browser


def test_missing_browser_gives_an_install_hint(monkeypatch):
    monkeypatch.setenv("ATTNPRED_CHROMIUM", "/nonexistent/chromium")
    assert browser.chromium_path() is None
    reason = browser.skip_reason()
    assert reason is not None
    assert "apt-get install -y chromium" in reason or "pip install playwright" in reason


def test_explicit_browser_path_is_used(monkeypatch, tmp_path):
    exe = tmp_path / "chromium"
    exe.write_text("")
    monkeypatch.setenv("ATTNPRED_CHROMIUM", str(exe))
    assert browser.chromium_path() == str(exe)
