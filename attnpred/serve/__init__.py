"""HTTP serving of any run behind the predictor contract: micro-batching, limits, keys, metrics.

``build_app(ServeConfig(...))`` returns the FastAPI application; ``run_server(cfg)`` runs it on
uvicorn with graceful shutdown. The server only uses ``attnpred.load(run).predict(...)`` and each
result's ``to_dict()``, so every task family is served the same way.
"""
from attnpred.serve.config import ServeConfig

__all__ = ["ServeConfig"]
