"""Explaining predictions: attention aggregation, plots and views."""
