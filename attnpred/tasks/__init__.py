"""Task families: run config -> run directory -> predictor (see ``registry``)."""
