"""Fine-tuning and prediction throughput against plain Hugging Face (BENCHMARKS.md section 7).

Same MiniLM weights, the same Financial PhraseBank AllAgree sentences, batch size 32 and
maximum length 128 on both sides, measured side by side in one run:

* prediction: ``ClassifierPredictor.predict(texts, return_attention=True)`` (attention pooling,
  so the returned attention is the pooling head's and the encoder stays on SDPA) against a
  ``transformers.pipeline("text-classification")`` without attention. Each timed call is
  end to end: raw strings in, predictions out (tokenization and post-processing included).
* fine-tuning: our ``Trainer`` fed by ``TrainBatches`` (length-bucketed) against the
  ``transformers.Trainer`` with ``DataCollatorWithPadding``, once with its default random
  sampler and once with ``train_sampling_strategy="group_by_length"`` (the matching setting).
  Same AdamW settings, linear schedule with 10% warm-up, gradient clipping 1.0. Each run is
  one epoch of the FinBERT training split (so both sides see every example once, whatever
  their batching), timed from the start of the first step to the end of the last: both sides'
  set-up and our end-of-training save are outside it (reported as end-to-end figures).
  One short untimed run per side warms the process up first.

The sides alternate (the order flipped every round) so the load of the shared machine hits them
alike; each figure is a median over rounds. Torch and the tokenizers run one thread on both
sides, so the process CPU time (``time.process_time``) measures the work without the waits for
a busy CPU; ratios use it (wall-clock ratios are stored beside them).

Run:  nice -n 10 .venv/bin/python benchmarks/throughput.py [--texts 1000] [--rounds 5]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one thread on both sides, set before torch loads
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable  # noqa: E402

import torch  # noqa: E402

from common import record, require_data, write_results  # noqa: E402  (repository on sys.path)
from attnpred.data.encoding import load_tokenizer  # noqa: E402
from attnpred.data.labels import LabelVocab  # noqa: E402
from attnpred.data.splits import dedupe  # noqa: E402
from attnpred.data.text import FPB_LABELS, read_examples  # noqa: E402
from attnpred.models.hf_classifier import HFClassifier, HFClassifierConfig, minilm_dir  # noqa: E402
from attnpred.tasks.classify import ClassifyRunConfig  # noqa: E402
from attnpred.tasks.classify_data import (TextDataConfig, TrainBatches, encode_set,  # noqa: E402
                                          load_splits)
from attnpred.tasks.classify_predictor import ClassifierPredictor  # noqa: E402
from attnpred.training.checkpoint import seed_everything  # noqa: E402
from attnpred.training.trainer import Trainer, TrainerConfig  # noqa: E402

DATASET, BATCH, MAX_LEN, SEED = "fpb-allagree", 32, 128, 13
LR, WARMUP_RATIO, WEIGHT_DECAY, GRAD_CLIP = 8e-5, 0.1, 0.01, 1.0
Clock = tuple[float, float]  # (wall seconds, process CPU seconds)


def now() -> Clock:
    return time.perf_counter(), time.process_time()


def since(start: Clock) -> Clock:
    end = now()
    return end[0] - start[0], end[1] - start[1]


# ---- data and models ---------------------------------------------------------------------
def load_examples():
    """The de-duplicated AllAgree sentences in file order, and the FinBERT training split."""
    path = str(require_data("financial_phrasebank", "Sentences_AllAgree.txt"))
    splits, _ = load_splits(TextDataConfig(train=path, split_seed=SEED))
    return dedupe(read_examples(path)), splits.train


def our_config() -> ClassifyRunConfig:
    return ClassifyRunConfig(model="pretrained", eval_batch_size=BATCH, batch_size=BATCH,
                             pretrained=HFClassifierConfig(model_dir="minilm", num_labels=3,
                                                           pooling="attention", max_len=MAX_LEN))


def hf_model():
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging
    logging.set_verbosity_error()  # the freshly initialised classifier is expected
    logging.disable_progress_bar()
    return AutoModelForSequenceClassification.from_pretrained(
        minilm_dir(), num_labels=3, local_files_only=True)


# ---- timing ------------------------------------------------------------------------------
def alternate(sides: dict[str, Callable[[], Any]], rounds: int) -> dict[str, list[Clock]]:
    """Run every side once per round, the order rotated each round; times per run."""
    names = list(sides)
    times: dict[str, list[Clock]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in (order if r % 2 == 0 else order[::-1]):
            times[name].append(sides[name]())
            print(f"  round {r + 1} {name:28s} wall {times[name][-1][0]:7.2f} s  "
                  f"cpu {times[name][-1][1]:7.2f} s", flush=True)
    return times


def summary(ours: list[Clock], ref: list[Clock], n: int) -> dict[str, float]:
    """Median examples/s of each side and median per-round ratio (ours / reference speed)."""
    med = statistics.median
    return {"ours_cpu_examples_per_s": med(n / c for _, c in ours),
            "ref_cpu_examples_per_s": med(n / c for _, c in ref),
            "ours_wall_examples_per_s": med(n / w for w, _ in ours),
            "ref_wall_examples_per_s": med(n / w for w, _ in ref),
            "cpu_ratio": med(rc / oc for (_, oc), (_, rc) in zip(ours, ref)),
            "wall_ratio": med(rw / ow for (ow, _), (rw, _) in zip(ours, ref))}


# ---- prediction --------------------------------------------------------------------------
def prediction_sides(texts: list[str]) -> dict[str, Callable[[], Clock]]:
    """Timed end-to-end calls: ours with attention, the HF pipeline without, on the texts as
    given and (to show what length-bucketing is worth) on the texts pre-sorted by length."""
    from transformers import pipeline
    tok = load_tokenizer(minilm_dir())
    seed_everything(SEED)
    ours = ClassifierPredictor(HFClassifier(our_config().pretrained), tok,
                               LabelVocab(list(FPB_LABELS)), our_config())
    pipe = pipeline("text-classification", model=hf_model().eval(), tokenizer=tok,
                    device="cpu")

    def run_ours() -> Clock:
        start = now()
        out = ours.predict(texts, return_attention=True, batch_size=BATCH)
        clock = since(start)
        assert len(out) == len(texts) and out[0].word_attention is not None
        return clock

    def run_hf(inputs: list[str]) -> Clock:
        start = now()
        out = pipe(inputs, batch_size=BATCH, truncation=True, max_length=MAX_LEN)
        clock = since(start)
        assert len(out) == len(texts)
        return clock

    lengths = [len(ids) for ids in tok(texts, truncation=True, max_length=MAX_LEN)["input_ids"]]
    by_length = [t for _, t in sorted(zip(lengths, texts), key=lambda p: p[0])]
    return {"attnpred-predict-with-attention": run_ours, "hf-pipeline": lambda: run_hf(texts),
            "hf-pipeline-length-sorted": lambda: run_hf(by_length)}


def bench_prediction(texts: list[str], rounds: int) -> list[dict]:
    sides = prediction_sides(texts)
    print(f"prediction: {len(texts)} texts, warm-up", flush=True)
    for side in sides.values():
        side()
    t = alternate(sides, rounds)
    ours = "attnpred-predict-with-attention"
    common = dict(texts=len(texts), batch_size=BATCH, max_len=MAX_LEN, rounds=rounds,
                  clock="process_cpu")
    s = summary(t[ours], t["hf-pipeline"], len(texts))
    out = [record(DATASET, ours, "all", "examples_per_s", s["ours_cpu_examples_per_s"],
                  wall_examples_per_s=s["ours_wall_examples_per_s"], **common,
                  notes="returns per-word attention (pooling head) and every class "
                        "probability; sorts the texts by length into batches")]
    for ref, model, how in (
            ("hf-pipeline", "predict-with-attention", "texts in the given order"),
            ("hf-pipeline-length-sorted", "predict-with-attention-vs-hf-sorted",
             "texts handed over already sorted by token length (sorting not timed)")):
        s = summary(t[ours], t[ref], len(texts))
        out.append(record(DATASET, ref, "all", "examples_per_s", s["ref_cpu_examples_per_s"],
                          wall_examples_per_s=s["ref_wall_examples_per_s"], **common,
                          notes=f"top label only, no attention; {how}"))
        out.append(record(DATASET, model, "all", "speed_ratio_vs_hf", s["cpu_ratio"],
                          wall_ratio=s["wall_ratio"], reference=ref, target=">= 1.0",
                          **common))
    return out


# ---- fine-tuning -------------------------------------------------------------------------
def step_clock(begin: Clock, ends: list[Clock]) -> Clock:
    """Time from the start of the first step to the end of the last."""
    return ends[-1][0] - begin[0], ends[-1][1] - begin[1]


def train_ours(source: TrainBatches, steps: int) -> dict[str, Any]:
    seed_everything(SEED)
    model = HFClassifier(our_config().pretrained)
    cfg = TrainerConfig(max_steps=steps, lr=LR, warmup_ratio=WARMUP_RATIO,
                        weight_decay=WEIGHT_DECAY, grad_clip=GRAD_CLIP, seed=SEED,
                        device="cpu", progress=False, tensorboard=False)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(model, cfg, run_dir, evaluate=None)
        begins: list[Clock] = []
        ends: list[Clock] = []
        backward, step = trainer._backward, trainer._optimizer_step

        def timed_backward(batch: dict) -> float:  # a step starts with its forward pass
            begins.append(now())
            return backward(batch)

        def timed_step() -> float:  # the end of each optimizer step, as HF's on_step_end
            norm = step()
            ends.append(now())
            return norm

        trainer._backward = timed_backward  # type: ignore[method-assign]
        trainer._optimizer_step = timed_step  # type: ignore[method-assign]
        start = now()
        trainer.fit(source)
        total = since(start)
    assert len(ends) == steps
    tokens = [b["input_ids"].numel() for b in source(0)[:steps]]
    return {"steps": step_clock(begins[0], ends), "total": total, "tokens": sum(tokens)}


def train_hf(features: list[dict], tok, strategy: str, steps: int) -> dict[str, Any]:
    from transformers import (DataCollatorWithPadding, Trainer as HFTrainer, TrainerCallback,
                              TrainingArguments)
    begins: list[Clock] = []
    ends: list[Clock] = []
    tokens: list[int] = []

    class StepClock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            begins.append(now())

        def on_step_end(self, args, state, control, **kwargs):
            ends.append(now())

    pad = DataCollatorWithPadding(tok)

    def collate(rows: list[dict]) -> dict:  # records the padded size of each batch, in order
        batch = pad(rows)
        tokens.append(batch["input_ids"].numel())
        return batch

    seed_everything(SEED)
    model = hf_model()
    with tempfile.TemporaryDirectory() as out_dir:
        args = TrainingArguments(
            output_dir=out_dir, per_device_train_batch_size=BATCH, max_steps=steps,
            learning_rate=LR, warmup_steps=WARMUP_RATIO, weight_decay=WEIGHT_DECAY,
            max_grad_norm=GRAD_CLIP, lr_scheduler_type="linear", seed=SEED,
            train_sampling_strategy=strategy, eval_strategy="no", save_strategy="no",
            logging_strategy="no", report_to=[], use_cpu=True, disable_tqdm=True,
            dataloader_num_workers=0)
        trainer = HFTrainer(model=model, args=args, train_dataset=features,
                            data_collator=collate, callbacks=[StepClock()])
        start = now()
        trainer.train()
        total = since(start)
    assert len(ends) == steps
    return {"steps": step_clock(begins[0], ends), "total": total, "tokens": sum(tokens[:steps])}


def train_sides(examples, steps: int) -> tuple[dict[str, Callable[[], dict]], float]:
    """The three training sides, and the seconds our source takes to collate one epoch."""
    tok = load_tokenizer(minilm_dir())
    vocab = LabelVocab(list(FPB_LABELS))
    source = TrainBatches(encode_set(examples, tok, vocab, MAX_LEN), BATCH, SEED,
                          tok.pad_token_id)
    start = now()
    source(0)
    collate_s = since(start)[1]
    features = [dict(tok(e.text, truncation=True, max_length=MAX_LEN),
                     labels=vocab.encode(e.label)) for e in examples]
    return {"attnpred-train": lambda: train_ours(source, steps),
            "hf-trainer": lambda: train_hf(features, tok, "random", steps),
            "hf-trainer-group-by-length":
                lambda: train_hf(features, tok, "group_by_length", steps)}, collate_s


SAMPLING = {"attnpred-train": "TrainBatches: shuffled, length-bucketed (pools of 50 batches), "
                              "the epoch collated before the first step",
            "hf-trainer": "RandomSampler (HF default) + DataCollatorWithPadding per step",
            "hf-trainer-group-by-length": "LengthGroupedSampler (train_sampling_strategy="
                                          "group_by_length) + DataCollatorWithPadding per step"}


def bench_training(examples, rounds: int, warmup_steps: int) -> list[dict]:
    """One epoch over ``examples`` per run: every example once on every side."""
    steps = math.ceil(len(examples) / BATCH)
    print(f"fine-tuning: warm-up ({warmup_steps} steps per side)", flush=True)
    for side in train_sides(examples, warmup_steps)[0].values():
        side()
    sides, collate_s = train_sides(examples, steps)
    print(f"fine-tuning: {steps} steps per run (one epoch of {len(examples)})", flush=True)
    runs_out: dict[str, list[dict]] = {n: [] for n in sides}
    runs = {n: (lambda f=f, n=n: _keep(f(), runs_out[n])) for n, f in sides.items()}
    t = alternate(runs, rounds)
    n = n_total = len(examples)
    totals = {k: [r["total"] for r in v] for k, v in runs_out.items()}
    common = dict(batch_size=BATCH, max_len=MAX_LEN, steps=steps, rounds=rounds,
                  clock="process_cpu", lr=LR, train_examples=len(examples))
    ours = "attnpred-train"
    s = summary(t[ours], t["hf-trainer"], n)
    out = [record(DATASET, ours, "train", "examples_per_s", s["ours_cpu_examples_per_s"],
                  **common, wall_examples_per_s=s["ours_wall_examples_per_s"],
                  padded_tokens_timed=runs_out[ours][0]["tokens"], batching=SAMPLING[ours],
                  collate_epoch_cpu_seconds=round(collate_s, 3))]
    for ref, model in (("hf-trainer-group-by-length", "train"),
                       ("hf-trainer", "train-vs-hf-default")):
        s = summary(t[ours], t[ref], n)
        e2e = summary(totals[ours], totals[ref], n_total)
        out.append(record(DATASET, ref, "train", "examples_per_s", s["ref_cpu_examples_per_s"],
                          **common, wall_examples_per_s=s["ref_wall_examples_per_s"],
                          padded_tokens_timed=runs_out[ref][0]["tokens"],
                          batching=SAMPLING[ref]))
        per_token = s["cpu_ratio"] * runs_out[ours][0]["tokens"] / runs_out[ref][0]["tokens"]
        out.append(record(DATASET, model, "train", "speed_ratio_vs_hf", s["cpu_ratio"],
                          **common, wall_ratio=s["wall_ratio"], reference=ref,
                          padded_token_speed_ratio=per_token, end_to_end=e2e))
    return out


def _keep(result: dict[str, Any], runs: list[dict]) -> Clock:
    runs.append(result)
    return result["steps"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--texts", type=int, default=1000, help="sentences to predict")
    ap.add_argument("--rounds", type=int, default=5, help="timed prediction rounds per side")
    ap.add_argument("--warmup-steps", type=int, default=3,
                    help="steps of the untimed warm-up run of each training side")
    ap.add_argument("--train-rounds", type=int, default=3, help="timed training runs per side")
    ap.add_argument("--parts", default="predict,train", help="predict, train or both")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    started, load_before = time.time(), os.getloadavg()
    examples, train = load_examples()
    records = []
    if "predict" in args.parts:
        records += bench_prediction([e.text for e in examples[: args.texts]], args.rounds)
    if "train" in args.parts:
        records += bench_training(train, args.train_rounds, args.warmup_steps)
    for r in records:
        print(f"{r['model']:32s} {r['metric']:18s} {r['value']:8.3f}")
    path = write_results(
        "throughput", records, started, threads=1, torch_version=torch.__version__,
        load_average_before=[round(x, 2) for x in load_before],
        load_average_after=[round(x, 2) for x in os.getloadavg()],
        notes="value = median over rounds; examples_per_s from process CPU time (one torch "
              "thread, tokenizers single-threaded, so CPU time is the work done without the "
              "waits for the busy shared CPU); wall_* beside. speed_ratio_vs_hf = ours / HF "
              "examples per second from the same round (> 1: ours faster). Training: one epoch "
              "of the FinBERT training split per run (every example once on every side), "
              "timed from the start of the first step to the end of the last optimizer step, "
              "after one short untimed warm-up run per side; HF collates each batch inside "
              "that window, ours collates the epoch before its first step "
              "(collate_epoch_cpu_seconds); padded_tokens_timed = tokens incl. padding over "
              "the epoch (the same every round: seeded samplers); padded_token_speed_ratio = "
              "the ratio in padded tokens per CPU second instead of examples. "
              "end_to_end = whole fit()/train() calls (set-up, every step, and for ours the "
              "one end-of-training save of weights + checkpoint; HF saves nothing).")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
