"""Word alignment (AER) on the En-Fr Hansards gold set: attention, guided attention, eflomal.

    python benchmarks/alignment.py --quick     # small CPU Transformers (tens of minutes)
    python benchmarks/alignment.py --cpu --threads 2 --runs ~/attnpred-runs --resume
                                               # the seq2seq CPU recipe, both directions
    python benchmarks/alignment.py --full --device cuda

Protocol (BENCHMARKS.md section 5): every aligner sees the same bitext, Multi30k En-Fr train
(29,000 pairs) plus the 447 gold-set pairs (their text, never their gold links). Multi30k is
lowercased and tokenised in the gold set's style (punctuation split, French elisions expanded:
l' -> le, d' -> de, ...); the gold pairs are only lowercased, so their word indices are kept.
- eflomal: both directions, grow-diag-final-and.
- attention: Transformers En->Fr and Fr->En trained without alignment supervision; links by
  argmax of cross-attention, sub-words merged, both directions symmetrised with
  grow-diag-final-and.
- guided: the same Transformers, with head 0 of decoder layer -2 supervised by the eflomal
  alignments of the training bitext (fairseq transformer_align / OpenNMT lambda_align; in the
  cpu profile read at the step where the word is the decoder's input, Shift-Att).
Both are also symmetrised by agreement: the two directions' word-level maps multiplied and
the pairs above a threshold linked (attnpred.alignment.agreement), the threshold chosen on the
same held-out pairs against eflomal's links.
Which layer/heads (and shifted or not) give the links is chosen per model on held-out pairs
of the training bitext (--held-out, the last Multi30k pairs: the Transformers do not train on
them, eflomal does) against eflomal's links there: never on the gold. The quick profile keeps
layer -2 (all heads for attention, the supervised head for guided) fixed in advance.
Also Multi30k En->Fr test2016 BLEU of the attention and guided En->Fr models (same
preprocessing on both sides, sacreBLEU 13a), beside copy. Writes benchmarks/results/alignment.json.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from common import ROOT, kept_records, record, require_data, write_results  # noqa: E402  (sets sys.path)

import torch  # noqa: E402

from attnpred.alignment import (AlignConfig, alignment_scores, choose_agreement,  # noqa: E402
                                pair_agreement, symmetrize)
from attnpred.alignment.eflomal import eflomal_directional  # noqa: E402
from attnpred.data.alignment import read_gold, write_pharaoh  # noqa: E402
from attnpred.data.parallel import read_bitext, read_lines  # noqa: E402
from attnpred.evaluation.generation import bleu  # noqa: E402
from attnpred.tasks.seq2seq import Seq2SeqPredictor  # noqa: E402
from seq2seq import dev_curve, merge, run_config, train_or_resume  # noqa: E402

RUNS = ROOT / "benchmarks" / "runs" / "alignment"
PROFILES = {
    "quick": {"data": {"vocab_size": 4000, "max_tokens": 2048, "max_len": 64},
              "transformer": {"dim": 128, "heads": 4, "ff_dim": 512, "encoder_layers": 2,
                              "decoder_layers": 2, "dropout": 0.1},
              "trainer": {"epochs": 4, "lr": 2e-3, "warmup_ratio": 0.05}},
    "full": {"data": {"vocab_size": 10000, "max_tokens": 8192, "max_len": 128},
             "transformer": {"dim": 512, "heads": 8, "ff_dim": 2048, "encoder_layers": 6,
                             "decoder_layers": 6, "dropout": 0.3},
             "trainer": {"epochs": 50, "lr": 7e-4, "warmup_ratio": 0.04, "patience": 8,
                         "amp": True}},
    # benchmarks/seq2seq.py's CPU Transformer, shorter: 4 models to train (2 directions x 2)
    "cpu": {"data": {"vocab_size": 8000, "max_tokens": 2048, "max_len": 128},
            "transformer": {"dim": 256, "heads": 4, "ff_dim": 1024, "encoder_layers": 3,
                            "decoder_layers": 3, "dropout": 0.1, "label_smoothing": 0.1},
            "trainer": {"epochs": 5, "lr": 1e-3, "warmup_ratio": 0.04}},
}
# fairseq alignment_lambda and OpenNMT lambda_align default; the cpu profile adds Shift-Att
GUIDE = {"weight": 0.05, "layer": -2, "heads": [0]}
GUIDE_SHIFT = {"quick": False, "full": False, "cpu": True}
PUBLISHED_HANSARDS = {"giza++": 5.9, "eflomal": 8.2, "fast_align": 10.5, "awesome-align": 4.1}
ELISION = re.compile(r"\b(l|d|j|c|n|qu|s|m|t)'", flags=re.I)
EXPAND = {"l": "le", "d": "de", "j": "je", "c": "ce", "n": "ne", "qu": "que", "s": "se",
          "m": "me", "t": "te"}


def gold_style(text: str, french: bool) -> str:
    """Lowercase and tokenise like the lilt/awesome-align Hansards files."""
    text = text.lower()
    if french:
        text = ELISION.sub(lambda m: EXPAND[m.group(1)] + " ", text)
    text = re.sub(r"([.,!?;:()\"«»])", r" \1 ", text)
    text = re.sub(r"(?<=\w)-(?=\w)", " - ", text)
    return " ".join(text.split())


def bitext(gold_dir: Path, raw: Path, pairs: int) -> tuple[list[str], list[str], int]:
    """The shared training bitext (the first ``pairs`` Multi30k pairs, 0: all, then the gold
    set's pairs); the gold pairs are its last ``n_gold`` lines."""
    n = pairs or None
    en = [gold_style(t, False) for t in read_lines(raw / "train.en.gz")[:n]]
    fr = [gold_style(t, True) for t in read_lines(raw / "train.fr.gz")[:n]]
    gold_pairs = read_bitext(gold_dir / "enfr.src-tgt")
    en += [" ".join(p.src.lower().split()) for p in gold_pairs]
    fr += [" ".join(p.tgt.lower().split()) for p in gold_pairs]
    return en, fr, len(gold_pairs)


def scores(name: str, links: list[set], gold, seconds: float | None,
           held_out_table: list | None = None, **extra) -> list[dict]:
    """AER, precision, recall records; the held-out choice table goes with the AER only."""
    s = alignment_scores(links, gold)
    table = {"held_out_table": held_out_table} if held_out_table else {}
    return [record("enfr-align", name, "test", m, getattr(s, m), seconds,
                   **(table if m == "aer" else {}), **extra)
            for m in ("aer", "precision", "recall")]


def show(records: list[dict]) -> None:
    for r in records:
        where = {k: r[k] for k in ("direction", "symmetrize", "layer", "heads", "shift", "method",
                                   "threshold", "agreement_threshold")
                 if k in r}
        print(f"{r['dataset']} {r['model']} {r['metric']} {r['value']:.4f} {where}", flush=True)


def guide(profile: str) -> dict:
    return {**GUIDE, "shift": GUIDE_SHIFT[profile]}


def train_direction(args, src: Path, tgt: Path, name: str, align: Path | None):
    """Train one direction on the NMT part of the bitext (guided when ``align`` is given;
    with ``--gold-repeat`` N > 1 the guided run reads the files with the gold pairs repeated,
    ``*.gold{N}``)."""
    dev = {"dev_src": str(src.parent / f"val{src.suffix}"),
           "dev_tgt": str(tgt.parent / f"val{tgt.suffix}")}
    if align is not None and args.gold_repeat > 1:
        src, tgt, align = (p.with_name(f"{p.name}.gold{args.gold_repeat}")
                           for p in (src, tgt, align))
    data = {"train_src": str(src), "train_tgt": str(tgt), **dev}
    profile = PROFILES[args.profile]
    if align is not None:
        profile = merge(profile, {"data": {"train_align": str(align)},
                                  "guide": guide(args.profile)})
    run_cfg = run_config(profile, "transformer", data, args)
    t0 = time.time()
    run_dir = args.runs / f"{name}-{args.profile}"
    train_or_resume(run_cfg, run_dir, args)
    predictor = Seq2SeqPredictor.load(run_dir)
    return predictor, time.time() - t0, dev_curve(run_dir)["train_seconds"]


def extraction(args, model: str, predictor, held: tuple[list, list, list]):
    """The AlignConfig to read links with: chosen on the held-out pairs against eflomal
    (every profile but quick), else layer -2 fixed in advance. Returns it and the table."""
    if args.profile == "quick" or not args.held_out:
        return AlignConfig(layer=-2, heads=(0,) if model == "guided" else ()), None
    choice = predictor.choose_alignment(*held)
    return choice.config, sorted(choice.table, key=lambda r: r["aer"])


def agreement(model: str, fwd: tuple, rev: tuple, held: tuple, test: tuple, gold,
              **extra) -> list[dict]:
    """Symmetrisation by agreement: each direction's word maps (its held-out layer/heads),
    multiplied; the product threshold chosen on the held-out pairs against eflomal."""
    t0 = time.time()
    (fwd_pred, fcfg), (rev_pred, rcfg) = fwd, rev

    def maps(src, tgt):
        return fwd_pred.word_maps(src, tgt, fcfg), rev_pred.word_maps(tgt, src, rcfg)

    choice = choose_agreement(*maps(*held[:2]), held[2])
    links = pair_agreement(*maps(*test), choice.threshold)
    return scores(model, links, gold, time.time() - t0, held_out_table=choice.table,
                  symmetrize="agreement", agreement_threshold=choice.threshold, **extra)


def reading(cfg: AlignConfig, table: list | None) -> dict:
    """How links were read, for the records."""
    return dict(layer=cfg.layer, heads=list(cfg.heads), shift=cfg.shift, method=cfg.method,
                threshold=cfg.threshold, average_layers=cfg.average_layers,
                held_out_table=table)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", dest="profile", action="store_const", const="quick")
    group.add_argument("--cpu", dest="profile", action="store_const", const="cpu")
    group.add_argument("--full", dest="profile", action="store_const", const="full")
    parser.set_defaults(profile="quick")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--max-steps", type=int, default=0, help="smoke runs: results not kept")
    parser.add_argument("--models", default="attention,guided", help="comma list")
    parser.add_argument("--pairs", type=int, default=None,
                        help="Multi30k pairs in the bitext (default: quick 10000, else all)")
    parser.add_argument("--held-out", type=int, default=500,
                        help="last Multi30k pairs of the bitext kept from the Transformers to "
                             "choose the layer/heads on (not in the quick profile)")
    parser.add_argument("--directions", choices=("both", "forward"), default=None,
                        help="train Fr->En too and symmetrise (default: quick forward, else both)")
    parser.add_argument("--gold-repeat", type=int, default=1,
                        help="the guided Transformers see the gold set's sentence pairs (their "
                             "text and eflomal's links, never the gold links) this many times "
                             "per epoch; the unguided ones once")
    parser.add_argument("--runs", type=Path, default=RUNS,
                        help="run directories (put long runs outside the work tree)")
    parser.add_argument("--resume", action="store_true",
                        help="continue interrupted runs and reuse finished ones")
    args = parser.parse_args()
    quick = args.profile == "quick"
    args.pairs = (10000 if quick else 0) if args.pairs is None else args.pairs
    args.directions = args.directions or ("forward" if quick else "both")
    args.held_out = 0 if quick else args.held_out
    return args


def write_data(data: Path, en: list[str], fr: list[str], nmt: list[int], raw: Path) -> None:
    """The Transformers' training files (the bitext without the held-out pairs), val, test."""
    data.mkdir(parents=True, exist_ok=True)
    for name, lines in (("train.en", en), ("train.fr", fr)):
        (data / name).write_text("".join(lines[i] + "\n" for i in nmt), encoding="utf-8")
    for lang, french in (("en", False), ("fr", True)):
        for split, out in (("val", f"val.{lang}"), ("test_2016_flickr", f"test.{lang}")):
            (data / out).write_text("".join(gold_style(t, french) + "\n" for t in
                                            read_lines(raw / f"{split}.{lang}.gz")))


def flip(alignments: list[set]) -> list[set]:
    return [{(j, i) for i, j in a} for a in alignments]


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    started, records = time.time(), []
    gold_dir, raw = require_data("word_alignment_gold"), require_data("multi30k", "raw")
    gold = read_gold(gold_dir / "enfr.gold")
    en, fr, n_gold = bitext(gold_dir, raw, args.pairs)
    n_multi = len(en) - n_gold
    held = list(range(n_multi - args.held_out, n_multi))  # kept from the Transformers
    nmt = [i for i in range(len(en)) if not n_multi - args.held_out <= i < n_multi]
    data = args.runs / "alignment-data"
    write_data(data, en, fr, nmt, raw)
    test_src, test_ref = read_lines(data / "test.en"), read_lines(data / "test.fr")
    records.append(record("multi30k-en-fr", "copy", "test2016", "bleu", bleu(test_src, [test_ref])))

    # eflomal: both directions on the whole bitext; its symmetrised links also supervise
    t0 = time.time()
    fwd, rev = eflomal_directional(en, fr)
    eflomal_links = [symmetrize(f, r, len(s.split()), len(t.split()))
                     for f, r, s, t in zip(fwd, rev, en, fr)]
    eflomal_s = time.time() - t0
    records += scores("eflomal", eflomal_links[-n_gold:], gold, eflomal_s,
                      symmetrize="grow-diag-final-and", bitext_pairs=len(en))
    records += scores("eflomal", fwd[-n_gold:], gold, eflomal_s, direction="en-fr",
                      bitext_pairs=len(en))
    write_pharaoh(data / "train.en-fr.align", [eflomal_links[i] for i in nmt])
    write_pharaoh(data / "train.fr-en.align", flip([eflomal_links[i] for i in nmt]))
    if args.gold_repeat > 1:  # the guided runs' files: the gold pairs N times in all
        more = nmt + list(range(len(en) - n_gold, len(en))) * (args.gold_repeat - 1)
        tag = f".gold{args.gold_repeat}"
        for name, lines in (("train.en", en), ("train.fr", fr)):
            (data / (name + tag)).write_text("".join(lines[i] + "\n" for i in more),
                                             encoding="utf-8")
        write_pharaoh(data / f"train.en-fr.align{tag}", [eflomal_links[i] for i in more])
        write_pharaoh(data / f"train.fr-en.align{tag}", flip([eflomal_links[i] for i in more]))
    show(records)

    gold_en, gold_fr = en[-n_gold:], fr[-n_gold:]
    held_en, held_fr = [en[i] for i in held], [fr[i] for i in held]
    held_ref = [eflomal_links[i] for i in held]
    for model in [m for m in args.models.split(",") if m]:
        guided = model == "guided"
        model = f"guided-gold{args.gold_repeat}" if guided and args.gold_repeat > 1 else model
        fwd_pred, fwd_s, fwd_train = train_direction(
            args, data / "train.en", data / "train.fr", f"{model}-en-fr",
            data / "train.en-fr.align" if guided else None)
        t0 = time.time()
        cfg, table = extraction(args, model, fwd_pred, (held_en, held_fr, held_ref))
        a_fwd = fwd_pred.align(gold_en, gold_fr, cfg)
        extra = dict(profile=args.profile, bitext_pairs=len(en), held_out_pairs=len(held),
                     guide=guide(args.profile) if guided else None,
                     gold_repeat=args.gold_repeat if guided else 1)
        chosen = reading(cfg, table)
        records += scores(model, a_fwd, gold, fwd_s + time.time() - t0, direction="en-fr",
                          train_seconds=fwd_train, **chosen, **extra)
        if args.directions == "both":
            rev_pred, rev_s, rev_train = train_direction(
                args, data / "train.fr", data / "train.en", f"{model}-fr-en",
                data / "train.fr-en.align" if guided else None)
            t1 = time.time()
            rcfg, rtable = extraction(args, model, rev_pred, (held_fr, held_en, flip(held_ref)))
            a_rev = flip(rev_pred.align(gold_fr, gold_en, rcfg))
            sym = [symmetrize(f, r, len(s.split()), len(t.split()))
                   for f, r, s, t in zip(a_fwd, a_rev, gold_en, gold_fr)]
            seconds = fwd_s + rev_s + time.time() - t0
            rchosen = reading(rcfg, rtable)
            records += scores(model, sym, gold, seconds, symmetrize="grow-diag-final-and",
                              train_seconds=fwd_train + rev_train, **extra)
            records += scores(model, a_rev, gold, rev_s + time.time() - t1, direction="fr-en",
                              train_seconds=rev_train, **rchosen, **extra)
            if held:  # the two directions' maps multiplied, threshold chosen on held-out
                records += agreement(model, (fwd_pred, cfg), (rev_pred, rcfg),
                                     (held_en, held_fr, held_ref), (gold_en, gold_fr), gold,
                                     train_seconds=fwd_train + rev_train, **extra)
        t1 = time.time()
        hyps = [t.text for t in fwd_pred.translate(test_src)]
        records.append(record("multi30k-en-fr", model, "test2016", "bleu",
                              bleu(hyps, [test_ref]), fwd_s + time.time() - t1, **extra))
        show([r for r in records if r["model"] == model])
    if args.max_steps:
        print("smoke run (--max-steps): results not written")
        return
    path = write_results("alignment", kept_records("alignment", records) + records, started,
                         profile=args.profile,
                         published_hansards_aer=PUBLISHED_HANSARDS)
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
