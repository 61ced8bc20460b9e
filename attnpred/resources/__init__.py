"""Data bundled with the package for the demo (each with its licence and attribution)."""
from importlib.resources import files
from pathlib import Path


def resource(*parts: str) -> Path:
    """Path of a bundled file, e.g. ``resource("financial_phrasebank", "Sentences_AllAgree.txt")``."""
    return Path(str(files("attnpred.resources").joinpath(*parts)))
