"""attnpred: train, supervise, explain and serve attention-based sequence predictors.

``attnpred.load(run_dir)`` returns the predictor of a trained run.
"""
from attnpred.api import load
from attnpred.errors import AttnpredError

__version__ = "0.1.0"
__all__ = ["load", "AttnpredError", "__version__"]
