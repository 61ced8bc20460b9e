"""Task recipes: each module turns a run config into a trained run directory and loads it back.

A run directory always holds ``config.json`` with a ``task`` key naming one of ``TASKS``.
"""
TASKS = {
    # task name -> "module:PredictorClass"; the class has a ``load(run_dir)`` classmethod.
    "classify": "attnpred.tasks.classify:ClassifierPredictor",
    "forecast": "attnpred.tasks.forecast:ForecastPredictor",
    "seq2seq": "attnpred.tasks.seq2seq:Seq2SeqPredictor",
}
