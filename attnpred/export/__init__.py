"""Deployment forms of a classification run: ONNX (fp32 and dynamic int8) and head pruning.

``export_run(run_dir, quantize="int8")`` writes RUN/onnx/ and checks it against PyTorch;
``OnnxPredictor.load(run_dir)`` serves it behind the same predictor contract;
``prune_run(run_dir, heads, out)`` removes the least important attention heads.
"""
