"""``attnpred explain RUN (--input FILE | --text T ...) --output PATH``: what the model attends
to, as one offline HTML file, JSON, ``.npz`` or PNG/SVG heatmaps."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from attnpred.cli.common import Parser
from attnpred.errors import AttnpredError

FORMATS = ("html", "json", "npz", "png", "svg")


def parser() -> Parser:
    p = Parser(prog="attnpred explain RUN",
               description="Explain a run's predictions: every layer and head, derived maps "
                           "(rollout, gradient-weighted attention), gold rationales or "
                           "alignments where the input has them.")
    p.add_argument("--input", help="classify: CSV/TSV/JSONL (text, optional label and "
                   "rationale) or .txt lines; seq2seq: source lines or JSONL (src, tgt, "
                   "alignment); forecast: the series CSV/Parquet")
    p.add_argument("--format-input", dest="input_format", help="format of --input (default: "
                   "by its suffix)")
    p.add_argument("--text", action="append", help="an input text (repeatable)")
    p.add_argument("--output", required=True, help="the file to write (a folder for several "
                   "PNG/SVG figures)")
    p.add_argument("--format", choices=FORMATS, help="default: by the --output suffix, else html")
    p.add_argument("--methods", help="classify: comma list of maps to compute (default: every "
                   "map but gradient_layers; 'all' for all)")
    p.add_argument("--faithfulness", help="classify: comma list of one-vector maps whose "
                   "per-example faithfulness to compute (e.g. rollout)")
    p.add_argument("--method", help="the map the HTML report shows first")
    p.add_argument("--limit", type=int, help="explain only the first N inputs")
    p.add_argument("--end", type=int, action="append",
                   help="forecast: explain the window ending before this row (repeatable; "
                        "default: the last rows)")
    p.add_argument("--ref", help="seq2seq: reference targets, one per line (read by teacher "
                   "forcing, so gold alignments line up)")
    p.add_argument("--alignment", help="seq2seq: gold alignments (Pharaoh), one line per pair "
                   "(needs --ref)")
    p.add_argument("--layer", type=int, default=-1, help="PNG/SVG: layer (0-based; -1: last)")
    p.add_argument("--head", type=int, help="PNG/SVG: head (0-based; default: mean over heads)")
    p.add_argument("--title", help="HTML title (default: the run directory)")
    p.add_argument("--batch-size", type=int, help="inputs per forward pass")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    return p


def main(argv: list[str]) -> None:
    """Parse ``argv`` (after 'explain'), explain, and write the output."""
    if not argv or argv[0] in ("-h", "--help"):
        if argv:
            parser().print_help()
            return
        raise AttnpredError("'explain' needs a run directory as its first argument", field="RUN")
    run, args = argv[0], parser().parse_args(argv[1:])
    if args.limit is not None and args.limit < 1:
        raise AttnpredError("must be >= 1", field="--limit")
    if args.batch_size is not None and args.batch_size < 1:
        raise AttnpredError("must be >= 1", field="--batch-size")
    fmt = args.format or output_format(args.output)
    from attnpred.api import load, run_task
    task = run_task(run)
    predictor = load(run, device=args.device)
    inputs = read_inputs(task, predictor, args)
    if args.limit:
        inputs = inputs[: args.limit]
    explanations = explain_inputs(task, predictor, inputs, args, fmt)
    write(explanations, args, fmt, args.title or f"attnpred explain: {Path(run).name}")


def output_format(output: str) -> str:
    suffix = Path(output).suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else "html"


def _comma(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").split(",") if x.strip()]


def read_inputs(task: str, predictor: Any, args: Any) -> list[Any]:
    """What to explain, from --text or --input, per family."""
    if task == "forecast":
        if args.text:
            raise AttnpredError("a forecast run explains a series: give --input FILE",
                                field="--text")
        if not args.input:
            raise AttnpredError("give --input SERIES.csv", field="--input")
        series = predictor.read(args.input)
        name = Path(args.input).name
        return [{"series": series, "end": e, "name": name} for e in args.end or [None]]
    if not args.input and not args.text:
        raise AttnpredError("give --input FILE or --text", field="--input")
    if args.text:
        if not all(t.strip() for t in args.text):
            raise AttnpredError("an empty text; expected words to explain", field="--text")
        return list(args.text)
    if task == "seq2seq":
        return _pairs(predictor, args)
    return _texts(predictor, args)


def _texts(predictor: Any, args: Any) -> list[Any]:
    """Classification inputs with their labels and rationales where the file has them."""
    from attnpred.data.text import read_examples, read_texts
    data = predictor.config.data
    try:
        return read_examples(args.input, format=args.input_format or "auto",
                             text_column=data.text_column, label_column=data.label_column,
                             require_label=False)
    except AttnpredError as exc:
        if exc.field != "format" or Path(args.input).suffix.lower() != ".txt":
            raise
    return read_texts(args.input, format="lines")  # a .txt that is not PhraseBank: lines


def _pairs(predictor: Any, args: Any) -> list[Any]:
    from attnpred.data.parallel import read_lines
    path = Path(args.input)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        from attnpred.data.text import json_records
        return [rec for _, rec in json_records(path.read_text(encoding="utf-8"), str(path))]
    sources = read_lines(str(path))
    if args.alignment and not args.ref:
        raise AttnpredError("gold alignments need the targets they align", field="--ref")
    if not args.ref:
        return sources
    refs = read_lines(args.ref)
    links = read_lines(args.alignment) if args.alignment else [None] * len(sources)
    if not len(refs) == len(sources) == len(links):
        raise AttnpredError(f"{len(sources)} sources, {len(refs)} references and "
                            f"{len(links)} alignment lines; expected one each per line",
                            file=args.ref)
    if args.alignment:
        from attnpred.data.alignment import check_alignments, parse_pharaoh
        check_alignments([parse_pharaoh(a, file=args.alignment, line=i)
                          for i, a in enumerate(links, 1)], sources, refs, args.alignment)
    return [{"src": s, "tgt": t, "alignment": a} for s, t, a in zip(sources, refs, links)]


def explain_inputs(task: str, predictor: Any, inputs: list[Any], args: Any, fmt: str):
    from attnpred.explain import explain
    from attnpred.explain.classify import METHODS
    methods = _comma(args.methods)
    if methods == ["all"]:
        methods = list(METHODS)
    if task == "forecast":
        return explain(predictor, inputs, batch_size=args.batch_size)
    return explain(predictor, inputs, methods=methods or None,
                   faithfulness=_comma(args.faithfulness), matrices=fmt in ("png", "svg", "npz"),
                   batch_size=args.batch_size)


def write(explanations: list[Any], args: Any, fmt: str, title: str) -> None:
    from attnpred.explain import export
    from attnpred.explain.html import write_report
    if fmt == "html":
        path = write_report(explanations, args.output, title=title, method=args.method)
    elif fmt == "json":
        path = export.write_json(explanations, args.output)
    elif fmt == "npz":
        path = export.write_npz(explanations, args.output)
    else:
        paths = export.write_figures(explanations, args.output, fmt, args.layer, args.head)
        path = paths[0] if len(paths) == 1 else Path(args.output)
    print(json.dumps({"output": str(path), "format": fmt, "examples": len(explanations)}))
