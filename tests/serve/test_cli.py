"""The deployment commands' help and one-line errors."""
from __future__ import annotations

import pytest

from attnpred.cli.serve import main


@pytest.mark.parametrize("command", ["serve", "export", "prune", "monitor"])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert f"attnpred {command}" in capsys.readouterr().out


def test_serve_help_comes_from_the_config_docstrings(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "--max-wait-ms" in out and "waits for more requests" in out


def test_user_mistakes_print_one_line_and_exit_2(tmp_path, capsys):
    assert main(["serve", "--max-batch", "0", str(tmp_path)]) == 2
    assert "max_batch" in capsys.readouterr().err
    assert main(["serve", "--no-such-flag"]) == 2
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and all(l.startswith("attnpred: error:") for l in
                                         err.splitlines())
