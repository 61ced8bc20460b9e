"""Learning speed against a reference (issue 13): attnpred's Transformer and a plain
``torch.nn.Transformer`` of the same sizes, trained on the same Multi30k En->De batches with
the same optimiser, schedule and loss; dev NLL after given steps.

    python benchmarks/seq2seq_learning.py              # one epoch (about 10 minutes, 2 cores)
    python benchmarks/seq2seq_learning.py --steps 20   # smoke run (results not written)

Both models: 3+3 layers, d = 256, 4 heads, FF 1024, pre-LN, joint BPE 8k with tied, scaled
embeddings and sinusoidal positions, dropout 0.1, label smoothing 0.1; AdamW lr 1e-3 (attnpred's
``make_optimizer``), 10% warm-up then linear decay over one epoch of batches of at most 4,096
tokens. The reference keeps PyTorch's default initialisation of ``nn.Transformer``. Dev NLL:
teacher-forced, per target token, no smoothing, on the first 500 validation pairs. Writes
benchmarks/results/seq2seq_learning.json and seq2seq_learning.png; the uniform NLL (log V) is
the trivial baseline.
"""
from __future__ import annotations

import argparse
import math
import time

from common import RESULTS, record, require_data, write_results

import torch  # noqa: E402
from torch import nn  # noqa: E402

from attnpred.attention.positional import SinusoidalPositionalEncoding  # noqa: E402
from attnpred.data.parallel import Seq2SeqTokenizer, read_parallel  # noqa: E402
from attnpred.models.seq2seq import (TransformerSeq2Seq, TransformerSeq2SeqConfig,  # noqa: E402
                                     seq2seq_losses)
from attnpred.tasks.seq2seq import TrainBatches, encode_pairs, make_batch  # noqa: E402
from attnpred.training.schedules import warmup_decay  # noqa: E402
from attnpred.training.trainer import TrainerConfig, make_optimizer  # noqa: E402

DIM, HEADS, FF, LAYERS, DROPOUT, SMOOTHING = 256, 4, 1024, 3, 0.1, 0.1


class Reference(nn.Module):
    """torch.nn.Transformer (pre-LN, PyTorch's default init) with attnpred's embeddings."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.core = nn.Transformer(DIM, HEADS, LAYERS, LAYERS, FF, dropout=DROPOUT,
                                   batch_first=True, norm_first=True)
        self.embed = nn.Embedding(vocab, DIM, padding_idx=0)
        nn.init.normal_(self.embed.weight, std=DIM ** -0.5)
        self.pos = SinusoidalPositionalEncoding(DIM, 256)
        self.drop = nn.Dropout(DROPOUT)

    def forward(self, src_ids, src_mask, tgt_in, tgt_out):
        def emb(ids):
            return self.drop(self.pos(self.embed(ids) * math.sqrt(DIM)))
        causal = self.core.generate_square_subsequent_mask(tgt_in.shape[1])
        h = self.core(emb(src_ids), emb(tgt_in), tgt_mask=causal, tgt_is_causal=True,
                      src_key_padding_mask=~src_mask, memory_key_padding_mask=~src_mask,
                      tgt_key_padding_mask=tgt_in == 0)
        logits = h @ self.embed.weight.T
        return seq2seq_losses(logits, tgt_out, SMOOTHING)


def ours(vocab: int) -> nn.Module:
    model = TransformerSeq2Seq(TransformerSeq2SeqConfig(
        src_vocab=vocab, tgt_vocab=vocab, dim=DIM, heads=HEADS, ff_dim=FF,
        encoder_layers=LAYERS, decoder_layers=LAYERS, dropout=DROPOUT,
        label_smoothing=SMOOTHING))

    def forward(src_ids, src_mask, tgt_in, tgt_out):
        out = model(src_ids, src_mask, tgt_in, tgt_out)
        return out.loss, out.nll
    model.losses = forward
    return model


def losses(model: nn.Module, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    args = (batch["src_ids"], batch["src_mask"], batch["tgt_in"], batch["tgt_out"])
    return model.losses(*args) if hasattr(model, "losses") else model(*args)


@torch.no_grad()
def dev_nll(model: nn.Module, dev: list[dict]) -> float:
    model.eval()
    total = count = 0.0
    for batch in dev:
        n = float((batch["tgt_out"] != 0).sum())
        total += float(losses(model, batch)[1]) * n
        count += n
    model.train()
    return total / count


def train(model: nn.Module, batches: list[dict], dev: list[dict], at: set[int]) -> list:
    cfg = TrainerConfig(lr=1e-3, warmup_ratio=0.1)
    opt = make_optimizer(model, cfg)
    sched = warmup_decay(opt, int(0.1 * len(batches)), len(batches), "linear")
    curve, t0 = [], time.time()
    for step, batch in enumerate(batches, start=1):
        loss = losses(model, batch)[0]
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        if step in at:
            curve.append({"step": step, "dev_nll": dev_nll(model, dev),
                          "seconds": round(time.time() - t0, 1)})
            print(type(model).__name__, curve[-1], flush=True)
    return curve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=0, help="cap the steps (smoke run)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    started = time.time()
    raw = require_data("multi30k", "raw")
    train_pairs = read_parallel(raw / "train.en.gz", raw / "train.de.gz")
    dev_pairs = read_parallel(raw / "val.en.gz", raw / "val.de.gz")[:500]
    tok = Seq2SeqTokenizer.train(train_pairs, 8000, joint=True)
    vocab = tok.src.get_vocab_size()
    batches = TrainBatches(encode_pairs(tok, train_pairs, 128), 4096, 13)(0)
    if args.steps:
        batches = batches[:args.steps]
    dev_enc = encode_pairs(tok, dev_pairs, 128)
    dev = [make_batch(dev_enc[i:i + 100]) for i in range(0, len(dev_enc), 100)]
    at = {1, 10, 20, 40, 60, 80, 100, len(batches)}
    curves = {}
    for name, build in (("attnpred", ours), ("torch.nn.Transformer", Reference)):
        torch.manual_seed(13)
        model = build(vocab)
        curves[name] = [{"step": 0, "dev_nll": dev_nll(model, dev), "seconds": 0.0}]
        curves[name] += train(model, batches, dev, at)
    records = [record("multi30k-en-de", name, "val500", "dev_nll", c["dev_nll"], c["seconds"],
                      step=c["step"]) for name, curve in curves.items() for c in curve]
    records.append(record("multi30k-en-de", "uniform", "val500", "dev_nll", math.log(vocab),
                          notes="log V: the loss of a model that knows nothing"))
    if args.steps:
        print("smoke run (--steps): results not written")
        return
    plot(curves, math.log(vocab))
    print(f"wrote {write_results('seq2seq_learning', records, started, vocab=vocab, steps=len(batches))}")


def plot(curves: dict, uniform: float) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, curve in curves.items():
        ax.plot([c["step"] for c in curve], [c["dev_nll"] for c in curve], marker="o", label=name)
    ax.axhline(uniform, color="grey", ls=":", label="uniform (log V)")
    ax.set(xlabel="step", ylabel="dev NLL", title="Same batches, same optimiser and schedule")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(RESULTS / "seq2seq_learning.png", dpi=110)


if __name__ == "__main__":
    main()
