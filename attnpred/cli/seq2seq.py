"""Seq2seq's part of the command line (train flags, evaluate/predict options) and ``align``.

The train / evaluate / predict commands are generic (``attnpred.cli.main``); help comes from the
config dataclasses' field docstrings.
"""
from __future__ import annotations

import argparse
import json
from typing import Any

from attnpred.cli.common import Parser
from attnpred.config import config_from_dict, field_docs
from attnpred.errors import AttnpredError
from attnpred.io import atomic_write_text

# flag -> dotted field of Seq2SeqRunConfig
TRAIN_FLAGS = {
    "train": "data.train_src", "train_tgt": "data.train_tgt",
    "dev": "data.dev_src", "dev_tgt": "data.dev_tgt",
    "test": "data.test_src", "test_tgt": "data.test_tgt",
    "src_field": "data.src_field", "tgt_field": "data.tgt_field",
    "train_align": "data.train_align", "model": "model",
    "vocab_size": "data.vocab_size", "max_tokens": "data.max_tokens",
    "max_len": "data.max_len", "dev_limit": "data.dev_limit",
    "dim": "transformer.dim", "heads": "transformer.heads",
    "encoder_layers": "transformer.encoder_layers",
    "decoder_layers": "transformer.decoder_layers",
    "epochs": "trainer.epochs", "max_steps": "trainer.max_steps", "lr": "trainer.lr",
    "metric": "trainer.metric", "seed": "trainer.seed",
    "keep_checkpoint": "trainer.keep_checkpoint",
    "guide_weight": "guide.weight", "guide_layer": "guide.layer", "guide_shift": "guide.shift",
    "beam": "decoding.beam",
}


def _decoding_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--beam", type=int, help="beam size (default: the run's)")
    parser.add_argument("--length-penalty", type=float, help="GNMT alpha (default: the run's)")


def add_predict_options(parser: argparse.ArgumentParser) -> None:
    _decoding_options(parser)


def predict_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"beam": args.beam, "length_penalty": args.length_penalty}


def add_evaluate_options(parser: argparse.ArgumentParser) -> None:
    _decoding_options(parser)
    parser.add_argument("--ref", help="line-aligned reference file (when --input holds "
                        "sources only)")
    parser.add_argument("--metrics", help="comma list: bleu, chrf, rouge (default: the run's)")
    parser.add_argument("--hyps", help="also write the outputs here, one per line")


def evaluate_options(args: argparse.Namespace) -> dict[str, Any]:
    import dataclasses

    from attnpred.models.decoding import DecodingConfig
    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip()) \
        if args.metrics else None
    changes = {k: v for k, v in (("beam", args.beam), ("length_penalty", args.length_penalty))
               if v is not None}
    return {"refs": args.ref, "metrics": metrics, "batch_size": args.batch_size,
            "decoding": dataclasses.replace(DecodingConfig(), **changes) if changes else None}


def after_evaluate(result: dict[str, Any], args: argparse.Namespace, predictor: Any) -> None:
    if args.hyps:
        atomic_write_text(args.hyps, "".join(h + "\n" for h in result["outputs"]))




def _bitext_flags(parser: Parser) -> None:
    parser.add_argument("--input", required=True, help="source file, or a single "
                        "TSV/JSONL/'src ||| tgt' file")
    parser.add_argument("--ref", help="line-aligned target file")
    parser.add_argument("--src-field", default="src", help="source column/key (TSV/JSONL)")
    parser.add_argument("--tgt-field", default="tgt", help="target column/key (TSV/JSONL)")


def _read_bitext(args: argparse.Namespace) -> list:
    from attnpred.data.parallel import read_parallel
    return read_parallel(args.input, args.ref, src_field=args.src_field,
                         tgt_field=args.tgt_field)


def align_select(argv: list[str]) -> None:
    """Choose the decoder layer and heads to align with: every layer x head, each layer's
    mean and the mean of all layers are scored by AER against reference links (e.g. eflomal's,
    on pairs the model did not train on); prints the table best first and the flags to use."""
    parser = Parser(prog="attnpred align-select", description=align_select.__doc__)
    parser.add_argument("run", help="run directory of a source->target model")
    _bitext_flags(parser)
    parser.add_argument("--reference", required=True,
                        help="Pharaoh file (0-indexed i-j) of the reference links, one line per pair")
    parser.add_argument("--output", help="write the choice and the table as JSON here")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args(argv)
    pairs = _read_bitext(args)
    from attnpred.data.alignment import check_alignments, read_pharaoh
    reference = read_pharaoh(args.reference)
    check_alignments(reference, [p.src for p in pairs], [p.tgt for p in pairs], args.reference)
    from attnpred.tasks.seq2seq import Seq2SeqPredictor
    choice = Seq2SeqPredictor.load(args.run, device=args.device).choose_alignment(
        [p.src for p in pairs], [p.tgt for p in pairs], reference)
    rows = sorted(choice.table, key=lambda r: r["aer"])
    for r in rows:
        where = "all layers" if r["average_layers"] else f"layer {r['layer']}"
        read = r["method"] + (f" {r['threshold']:g}" if r["threshold"] is not None else "")
        print(f"{where:>10}  heads {str(r['heads']):>5}  shift {r['shift']!s:>5}  "
              f"{read:>13}  AER {r['aer']:.4f}  "
              f"P {r['precision']:.4f}  R {r['recall']:.4f}")
    cfg = choice.config
    flags = ("--average-layers" if cfg.average_layers else
             f"--layer {cfg.layer}" + (f" --heads {','.join(map(str, cfg.heads))}"
                                      if cfg.heads else "")) + (" --shift" if cfg.shift else "")
    if cfg.method == "threshold":
        flags += f" --method threshold --threshold {cfg.threshold:g}"
    print(f"best: {flags}")
    if args.output:
        atomic_write_text(args.output, json.dumps(
            {"best": {"layer": cfg.layer, "heads": list(cfg.heads), "shift": cfg.shift,
                      "method": cfg.method, "threshold": cfg.threshold,
                      "average_layers": cfg.average_layers, "flags": flags},
             "table": rows}, indent=1) + "\n")


def align(argv: list[str]) -> None:
    """Word alignments (Pharaoh, 0-indexed) for a bitext from a seq2seq run's cross-attention,
    optionally symmetrised with a reverse-direction run, or from eflomal (--eflomal)."""
    from attnpred.alignment.extract import AlignConfig
    parser = Parser(prog="attnpred align", description=align.__doc__)
    parser.add_argument("run", nargs="?", help="run directory of a source->target model")
    _bitext_flags(parser)
    parser.add_argument("--output", required=True, help="the Pharaoh file to write")
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
    parser.add_argument("--shift", action="store_true", help=field_docs(AlignConfig)["shift"])
    parser.add_argument("--symmetrize", default="grow-diag-final-and",
                        help=field_docs(AlignConfig)["symmetrize"])
    parser.add_argument("--agreement-threshold", type=float, default=0.15,
                        help=field_docs(AlignConfig)["agreement_threshold"])
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
        "symmetrize": args.symmetrize, "shift": args.shift,
        "agreement_threshold": args.agreement_threshold}, source="command line")
    pairs = _read_bitext(args)
    from attnpred.tasks.seq2seq import align_bitext
    links = align_bitext([p.src for p in pairs], [p.tgt for p in pairs], cfg, run=args.run,
                         reverse=args.reverse, eflomal=args.eflomal, device=args.device)
    from attnpred.data.alignment import check_alignments, read_gold, write_pharaoh
    gold = read_gold(args.gold) if args.gold else None
    if gold is not None:  # checked before anything is written
        check_alignments([g.possible | g.sure for g in gold], [p.src for p in pairs],
                         [p.tgt for p in pairs], args.gold, one_indexed=True)
    write_pharaoh(args.output, links)
    print(f"alignments: {args.output} ({len(links)} pairs)")
    if gold is not None:
        from attnpred.alignment.metrics import alignment_scores
        print(json.dumps(alignment_scores(links, gold).__dict__))
