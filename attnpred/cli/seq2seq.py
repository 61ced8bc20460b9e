"""``attnpred train --task seq2seq``, ``evaluate RUN``, ``predict RUN`` and ``align``.

Each command parses its flags and calls one library function in ``attnpred.tasks.seq2seq``,
``attnpred.alignment`` or ``attnpred.evaluation.generation``.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from attnpred.cli.forecast import field_docs
from attnpred.config import config_from_dict, config_to_dict, load_config
from attnpred.errors import AttnpredError
from attnpred.io import atomic_write_text

# flag -> (dotted config path, type); help comes from the docstring under the field
TRAIN_FLAGS: dict[str, tuple[str, type]] = {
    "--arch": ("arch", str), "--train-src": ("data.train_src", str),
    "--train-tgt": ("data.train_tgt", str), "--dev-src": ("data.dev_src", str),
    "--dev-tgt": ("data.dev_tgt", str), "--src-field": ("data.src_field", str),
    "--tgt-field": ("data.tgt_field", str), "--train-align": ("data.train_align", str),
    "--vocab-size": ("data.vocab_size", int), "--max-tokens": ("data.max_tokens", int),
    "--max-len": ("data.max_len", int), "--dev-limit": ("data.dev_limit", int),
    "--epochs": ("trainer.epochs", int), "--max-steps": ("trainer.max_steps", int),
    "--lr": ("trainer.lr", float), "--metric": ("trainer.metric", str),
    "--seed": ("trainer.seed", int), "--device": ("trainer.device", str),
    "--guide-weight": ("transformer.guide.weight", float),
    "--guide-layer": ("transformer.guide.layer", int),
}


def _doc(path: str) -> str:
    from attnpred.tasks.seq2seq import Seq2SeqRunConfig
    import typing
    cls = Seq2SeqRunConfig
    *parents, name = path.split(".")
    for p in parents:
        cls = typing.get_type_hints(cls)[p]
    return field_docs(cls).get(name, "")


def _set(cfg: dict[str, Any], path: str, value: Any) -> None:
    *parents, name = path.split(".")
    for p in parents:
        if not isinstance(cfg.get(p), dict):
            raise AttnpredError(f"no config section {p!r}", field=path)
        cfg = cfg[p]
    cfg[name] = value


def _parse_set(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise AttnpredError(f"expected KEY=VALUE, got {item!r}", field="--set")
    key, text = item.split("=", 1)
    try:
        return key, json.loads(text)
    except json.JSONDecodeError:
        return key, text


def train(argv: list[str]) -> None:
    """Train a Transformer or GRU+attention encoder-decoder into a run directory."""
    from attnpred.tasks.seq2seq import Seq2SeqRunConfig, train_seq2seq
    parser = argparse.ArgumentParser(prog="attnpred train --task seq2seq",
                                     description=train.__doc__)
    parser.add_argument("--out", required=True, help="the run directory to write")
    parser.add_argument("--config", help="a JSON run config; flags override its fields")
    for flag, (path, kind) in TRAIN_FLAGS.items():
        parser.add_argument(flag, dest=path, type=kind, default=None, help=_doc(path),
                            metavar=path.rsplit(".", 1)[-1].upper())
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="any config field by dotted path, e.g. transformer.dim=512")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    args = vars(parser.parse_args(argv))
    base = config_to_dict(load_config(Seq2SeqRunConfig, args["config"]) if args["config"]
                          else Seq2SeqRunConfig())
    for path, _ in TRAIN_FLAGS.values():
        if args[path] is not None:
            _set(base, path, args[path])
    for item in args["set"]:
        _set(base, *_parse_set(item))
    cfg = config_from_dict(Seq2SeqRunConfig, base, source="command line")
    train_seq2seq(cfg, args["out"], resume=args["resume"])
    print(f"run directory: {args['out']}")


def _decoding(predictor, args: argparse.Namespace):
    import dataclasses
    changes = {k: v for k, v in (("beam", args.beam), ("length_penalty", args.length_penalty))
               if v is not None}
    return dataclasses.replace(predictor.cfg.decoding, **changes)


def _decoding_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--beam", type=int, help="beam size (default: the run's)")
    parser.add_argument("--length-penalty", type=float, help="GNMT alpha (default: the run's)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")


def _read_inputs(src: str, tgt: str | None, args: argparse.Namespace):
    from attnpred.data.parallel import read_parallel
    return read_parallel(src, tgt, src_field=args.src_field, tgt_field=args.tgt_field)


def evaluate(run_dir: str, argv: list[str]) -> None:
    """Translate or summarise a test set and score it (sacreBLEU, chrF or ROUGE) beside copy."""
    from attnpred.evaluation.generation import generation_metrics, write_report
    from attnpred.tasks.seq2seq import Seq2SeqPredictor
    parser = argparse.ArgumentParser(prog="attnpred evaluate RUN", description=evaluate.__doc__)
    parser.add_argument("--src", required=True, help="source file (or a single TSV/JSONL file)")
    parser.add_argument("--ref", help="line-aligned reference file")
    parser.add_argument("--src-field", default="src", help="source column/key")
    parser.add_argument("--tgt-field", default="tgt", help="reference column/key")
    parser.add_argument("--metrics", default="bleu,chrf", help="comma list: bleu, chrf, rouge")
    parser.add_argument("--output", help="write the metrics as JSON here")
    parser.add_argument("--report", help="write a Markdown report here")
    parser.add_argument("--hyps", help="write the outputs here, one per line")
    _decoding_flags(parser)
    args = parser.parse_args(argv)
    pairs = _read_inputs(args.src, args.ref, args)
    predictor = Seq2SeqPredictor.load(run_dir, device=args.device)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    src, refs = [p.src for p in pairs], [[p.tgt for p in pairs]]
    scores, hyps = predictor.evaluate(src, refs, metrics, _decoding(predictor, args))
    result = {"model": scores, "copy": generation_metrics(src, refs, metrics),
              "examples": len(pairs)}
    print(json.dumps(result, indent=2))
    if args.output:
        atomic_write_text(args.output, json.dumps(result, indent=2) + "\n")
    if args.hyps:
        atomic_write_text(args.hyps, "".join(h + "\n" for h in hyps))
    if args.report:
        write_report(args.report, f"Evaluation of {run_dir}", scores,
                     list(zip(src, refs[0], hyps))[:5])


def predict(run_dir: str, argv: list[str]) -> None:
    """Translate or summarise every line of a file with beam search (optionally with attention)."""
    from attnpred.data.parallel import read_lines
    from attnpred.tasks.seq2seq import Seq2SeqPredictor
    parser = argparse.ArgumentParser(prog="attnpred predict RUN", description=predict.__doc__)
    parser.add_argument("--input", required=True, help="one source text per line (.gz read)")
    parser.add_argument("--output", help="write outputs here (default: standard output)")
    parser.add_argument("--attention", help="write JSONL here: tokens and the cross-attention "
                        "(layer x head x target x source) of each output")
    _decoding_flags(parser)
    args = parser.parse_args(argv)
    predictor = Seq2SeqPredictor.load(run_dir, device=args.device)
    outputs = predictor.translate(read_lines(args.input), _decoding(predictor, args),
                                  return_attention=bool(args.attention))
    text = "".join(o.text + "\n" for o in outputs)
    if args.output:
        atomic_write_text(args.output, text)
    else:
        sys.stdout.write(text)
    if args.attention:
        atomic_write_text(args.attention, "".join(json.dumps({
            "src_tokens": o.src_tokens, "tgt_tokens": o.tgt_tokens, "score": o.score,
            "cross_attentions": [m.tolist() for m in o.cross_attentions]}) + "\n"
            for o in outputs))


def align(argv: list[str]) -> None:
    """Word alignments (Pharaoh, 0-indexed) for a bitext from a seq2seq run's cross-attention,
    optionally symmetrised with a reverse-direction run, or from eflomal (--eflomal)."""
    from attnpred.alignment.extract import AlignConfig
    parser = argparse.ArgumentParser(prog="attnpred align", description=align.__doc__)
    parser.add_argument("run", nargs="?", help="run directory of a source->target model")
    parser.add_argument("--src", required=True, help="source file, or a 'src ||| tgt' file")
    parser.add_argument("--tgt", help="line-aligned target file")
    parser.add_argument("--src-field", default="src", help="source column/key (TSV/JSONL)")
    parser.add_argument("--tgt-field", default="tgt", help="target column/key (TSV/JSONL)")
    parser.add_argument("--out", required=True, help="the Pharaoh file to write")
    parser.add_argument("--reverse", help="run directory of a target->source model; the two "
                        "directions are symmetrised")
    parser.add_argument("--eflomal", action="store_true", help="align with eflomal instead")
    parser.add_argument("--gold", help="1-indexed gold file (i-j sure, ipj possible): print AER")
    parser.add_argument("--layer", type=int, default=-2, help=field_docs(AlignConfig)["layer"])
    parser.add_argument("--heads", default="", help="comma list of heads (default: all)")
    parser.add_argument("--average-layers", action="store_true",
                        help=field_docs(AlignConfig)["average_layers"])
    parser.add_argument("--method", default="argmax", help=field_docs(AlignConfig)["method"])
    parser.add_argument("--threshold", type=float, default=0.2,
                        help=field_docs(AlignConfig)["threshold"])
    parser.add_argument("--merge", default="links", help=field_docs(AlignConfig)["merge"])
    parser.add_argument("--symmetrize", default="grow-diag-final-and",
                        help=field_docs(AlignConfig)["symmetrize"])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args(argv)
    if not args.run and not args.eflomal:
        raise AttnpredError("give a run directory or --eflomal", field="RUN")
    try:
        heads = tuple(int(h) for h in args.heads.split(",") if h.strip())
    except ValueError:
        raise AttnpredError("expected a comma list of integers", field="--heads") from None
    cfg = config_from_dict(AlignConfig, {
        "layer": args.layer, "heads": heads, "average_layers": args.average_layers,
        "method": args.method, "threshold": args.threshold, "merge": args.merge,
        "symmetrize": args.symmetrize}, source="command line")
    pairs = _read_inputs(args.src, args.tgt, args)
    from attnpred.tasks.seq2seq import align_bitext
    links = align_bitext([p.src for p in pairs], [p.tgt for p in pairs], cfg, run=args.run,
                         reverse=args.reverse, eflomal=args.eflomal, device=args.device)
    from attnpred.data.alignment import read_gold, write_pharaoh
    write_pharaoh(args.out, links)
    print(f"alignments: {args.out} ({len(links)} pairs)")
    if args.gold:
        from attnpred.alignment.metrics import alignment_scores
        print(json.dumps(alignment_scores(links, read_gold(args.gold)).__dict__))
