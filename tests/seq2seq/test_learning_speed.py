"""attnpred's Transformer starts near the uniform loss and learns as fast as a plain
``torch.nn.Transformer`` of the same sizes (same embeddings, tying, positions, loss, data)."""
import math

import torch
import torch.nn.functional as F
from torch import nn

from attnpred.attention.positional import SinusoidalPositionalEncoding
from attnpred.models.seq2seq import TransformerSeq2Seq, TransformerSeq2SeqConfig

V, D, H, FF, LAYERS = 64, 64, 4, 128, 2


class Reference(nn.Module):
    """torch.nn.Transformer (pre-LN, PyTorch's default init) with attnpred's embedding scheme."""

    def __init__(self) -> None:
        super().__init__()
        self.core = nn.Transformer(D, H, LAYERS, LAYERS, FF, dropout=0.0, batch_first=True,
                                   norm_first=True)
        self.embed = nn.Embedding(V, D, padding_idx=0)
        nn.init.normal_(self.embed.weight, std=D ** -0.5)
        self.pos = SinusoidalPositionalEncoding(D, 64)

    def forward(self, src, tgt_in):
        e = lambda ids: self.pos(self.embed(ids) * math.sqrt(D))  # noqa: E731
        causal = self.core.generate_square_subsequent_mask(tgt_in.shape[1])
        h = self.core(e(src), e(tgt_in), tgt_mask=causal, tgt_is_causal=True)
        return h @ self.embed.weight.T


def batch(g: torch.Generator, n: int = 32, length: int = 10):
    src = torch.randint(4, V, (n, length), generator=g)
    tgt = torch.cat([src.flip(1), torch.full((n, 1), 2)], 1)  # reversed, then </s>
    tgt_in = torch.cat([torch.full((n, 1), 1), tgt[:, :-1]], 1)
    return src, tgt_in, tgt


def attnpred_model() -> TransformerSeq2Seq:
    return TransformerSeq2Seq(TransformerSeq2SeqConfig(
        src_vocab=V, tgt_vocab=V, dim=D, heads=H, ff_dim=FF, encoder_layers=LAYERS,
        decoder_layers=LAYERS, dropout=0.0, label_smoothing=0.0, max_len=63))


def nll(model, data) -> float:
    src, tgt_in, tgt = data
    with torch.no_grad():
        if isinstance(model, Reference):
            logits = model(src, tgt_in)
        else:
            logits = model(src, torch.ones_like(src, dtype=torch.bool), tgt_in).logits
    return float(F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1)))


def train(model, steps: int = 60) -> float:
    g = torch.Generator().manual_seed(1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(steps):
        src, tgt_in, tgt = batch(g)
        if isinstance(model, Reference):
            logits = model(src, tgt_in)
        else:
            logits = model(src, torch.ones_like(src, dtype=torch.bool), tgt_in).logits
        loss = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return nll(model, batch(torch.Generator().manual_seed(99), 128))


def test_initial_loss_is_near_uniform():
    torch.manual_seed(0)
    held_out = batch(torch.Generator().manual_seed(99), 128)
    assert nll(attnpred_model().eval(), held_out) < math.log(V) + 1.0


def test_learns_as_fast_as_torch_nn_transformer():
    torch.manual_seed(0)
    ours = train(attnpred_model())
    torch.manual_seed(0)
    reference = train(Reference())
    assert ours <= reference + 0.15, (ours, reference)
