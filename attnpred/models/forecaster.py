"""The attention forecaster: a channel-independent patch Transformer with instance normalisation.

Each channel's history is normalised by its own mean and spread (RevIN), cut into patches
(overlapping when stride < patch_len), embedded, and encoded by the shared
``TransformerEncoder`` (attention over time patches); optional layers then attend across
channels at each patch position (so, with MS, the target can read the other inputs). A linear
head maps the patch states to all H future steps at once.

Beside it runs a linear "highway" (as in LSTNet): a linear map of the history, measured from an
anchor (``skip_anchor``): the last value (the map is then shift-equivariant, and a strong ridge
penalty shrinks it to Repeat), the window mean (shift-equivariant, shrinks to the mean), the
window mean in units of the window's spread (RevIN's normalisation: shift- and
scale-equivariant), or none (the series' own scale, which keeps the level information that
instance normalisation removes).
It is fitted by ridge least squares on the training windows before training (``fit_skip``), the
penalty optionally picked on validation, and by default kept fixed, so gradient training only
teaches the attention path what the linear map misses (``combine='residual'``); with
``combine='blend'`` the attention path learns to forecast on its own and the forecast is a
mixture of the two, its weight ``mix`` set on validation after training.

Shape legend: B windows, L look-back, H horizon, C channels, P patches, E width, h heads.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attnpred.attention import LearnedPositionalEncoding
from attnpred.config import check
from attnpred.models.blocks import TransformerEncoder
from attnpred.selection import one_standard_error


@dataclass
class ForecastShape:
    """What every forecaster maps: L steps of C channels to H steps of the target channels."""

    input_len: int = 336
    """Look-back L."""
    horizon: int = 96
    """Forecast horizon H."""
    n_channels: int = 7
    """Input channels C."""
    targets: tuple[int, ...] = ()
    """Indices of the forecast channels among the inputs (empty: all of them)."""

    def __post_init__(self) -> None:
        check(self.input_len >= 1, "input_len", "must be >= 1")
        check(self.horizon >= 1, "horizon", "must be >= 1")
        check(self.n_channels >= 1, "n_channels", "must be >= 1")
        check(all(0 <= t < self.n_channels for t in self.targets), "targets",
              "must be channel indices")

    @property
    def target_list(self) -> list[int]:
        return list(self.targets) or list(range(self.n_channels))


SKIP_ANCHORS = ("last", "mean", "norm", "none")
COMBINE = ("residual", "blend")


@dataclass
class ForecasterConfig(ForecastShape):
    """Shape and size of the attention forecaster."""

    patch_len: int = 16
    """Time steps per patch."""
    stride: int = 16
    """Steps between patch starts (the end is padded by repeating the last value)."""
    d_model: int = 16
    """Width E of the patch embeddings."""
    heads: int = 4
    """Attention heads per layer."""
    ff_dim: int = 64
    """Hidden width of the feed-forward blocks."""
    layers: int = 2
    """Encoder layers attending over time patches."""
    channel_layers: int = 0
    """Encoder layers attending across channels at each patch position (0: channel-independent)."""
    dropout: float = 0.3
    """Dropout in the encoder and on the patch embeddings."""
    attn_dropout: float = 0.0
    """Dropout on the attention weights."""
    head_dropout: float = 0.0
    """Dropout before the forecasting head."""
    revin: bool = True
    """Normalise each window's channels by their own mean and std (and undo it on the output)."""
    linear_skip: bool = True
    """Add a linear map of the history to the forecast."""
    skip_anchor: str = "last"
    """What the linear skip measures the history from: 'last' (the last value), 'mean' (the
    window mean), 'norm' (the window mean, in units of the window's spread, as RevIN: shift-
    and scale-equivariant) or 'none' (the values as they are)."""
    skip_lstsq: bool = True
    """With linear_skip: start it at the least-squares fit on the training windows, and the
    attention path's head at zero, so training learns what the linear map misses."""
    ridge: float = 1e-3
    """Ridge penalty (relative to the mean diagonal) of that least-squares fit."""
    ridge_grid: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
    """Penalties tried when validation windows are given to ``fit_skip`` (training does): the
    largest one within one standard error of the lowest validation MSE is kept and written
    back to ``ridge``; empty: use ``ridge`` as it is."""
    skip_trainable: bool = False
    """Let training update the linear skip (False: keep it as fitted)."""
    combine: str = "residual"
    """How the two paths make one forecast: 'residual' (the attention path learns what the
    fitted skip misses: forecast = skip + attention part) or 'blend' (the attention path is
    trained to forecast alone, and the forecast is (1 - mix) * skip + mix * attention, the
    weight ``mix`` chosen on validation after training)."""
    quantiles: tuple[float, ...] = ()
    """Also forecast these quantiles (e.g. 0.1, 0.5, 0.9; must include 0.5, the point
    forecast), trained with the pinball loss (validation then picks weights by it too);
    empty: a point forecast trained with MSE."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.input_len >= self.patch_len >= 1, "patch_len", "must be in [1, input_len]")
        check(1 <= self.stride <= self.patch_len, "stride", "must be in [1, patch_len]")
        check(self.skip_anchor in SKIP_ANCHORS, "skip_anchor",
              f"must be one of {SKIP_ANCHORS}")
        check(self.ridge >= 0, "ridge", "must be >= 0")
        check(all(r >= 0 for r in self.ridge_grid), "ridge_grid", "penalties must be >= 0")
        for name in ("d_model", "heads", "ff_dim"):
            check(getattr(self, name) >= 1, name, "must be >= 1")
        check(self.d_model % self.heads == 0, "heads", "must divide d_model")
        check(self.layers >= 1, "layers", "must be >= 1")
        check(self.channel_layers >= 0, "channel_layers", "must be >= 0")
        check(not self.quantiles or (0.5 in self.quantiles and list(self.quantiles) ==
                                     sorted(set(self.quantiles)) and
                                     all(0 < q < 1 for q in self.quantiles)), "quantiles",
              "must be increasing levels in (0, 1) that include 0.5")
        for name in ("dropout", "attn_dropout", "head_dropout"):
            check(0 <= getattr(self, name) < 1, name, "must be in [0, 1)")
        check(self.combine in COMBINE, "combine", f"must be one of {COMBINE}")
        check(not (self.combine == "blend" and self.quantiles), "combine",
              "'blend' makes point forecasts; quantiles need 'residual'")

    @property
    def n_patches(self) -> int:
        return (self.input_len - self.patch_len) // self.stride + 2

    @property
    def n_quantiles(self) -> int:
        return max(1, len(self.quantiles))


@dataclass
class ForecastOutput:
    """What every forecaster (the attention model and the baselines) returns.

    Attributes:
        forecast: (B, H, C_out) forecasts on the scale of the inputs.
        loss: mean squared error against ``y`` when it was given, else None.
        attentions: per time layer (B*C, h, P, P) patch-to-patch weights; empty unless asked
            for (and always empty for the baselines).
        channel_attentions: per channel layer (B*P, h, C, C); empty unless asked for.
        history_attention: (B, C_out, L) attention received by each history step, averaged over
            layers, heads and query patches and spread over each patch's steps; each row sums
            to 1. None unless asked for (and for the baselines).
        attention_part: (B, H, C_out) what the attention path adds to the forecast (the rest
            is the linear skip and the window mean), so a user can see how much of a forecast
            the attention explains. None unless attention was asked for.
        quantiles: (B, H, C_out, Q) forecasts of the configured quantile levels (the 0.5 one
            is ``forecast``); None for a point forecaster.
    """

    forecast: Tensor
    loss: Tensor | None = None
    attentions: tuple[Tensor, ...] = ()
    channel_attentions: tuple[Tensor, ...] = ()
    history_attention: Tensor | None = None
    attention_part: Tensor | None = None
    quantiles: Tensor | None = None


def forecast_loss(forecast: Tensor, y: Tensor | None) -> Tensor | None:
    return None if y is None else F.mse_loss(forecast, y)


def pinball_loss(quantiles: Tensor, y: Tensor, levels: Tensor) -> Tensor:
    """Mean pinball (quantile) loss of (B, H, C, Q) forecasts of ``levels`` (Q,) for y."""
    err = y.unsqueeze(-1) - quantiles
    return torch.maximum(levels * err, (levels - 1) * err).mean()


class RevIN(nn.Module):
    """Reversible instance normalisation (Kim et al. 2022) with a learned affine map per channel."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def stats(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, L, C) -> mean (B, 1, C), std (B, 1, C) over time (no gradient)."""
        mean = x.mean(1, keepdim=True).detach()
        return mean, torch.sqrt(x.var(1, keepdim=True, unbiased=False) + self.eps).detach()

    def normalise(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x: (B, L, C) -> normalised x, mean (B, 1, C), std (B, 1, C)."""
        mean, std = self.stats(x)
        return (x - mean) / std * self.weight + self.bias, mean, std

    def denormalise(self, y: Tensor, mean: Tensor, std: Tensor) -> Tensor:
        """y: (B, H, C) back to the input scale."""
        return (y - self.bias) / (self.weight + self.eps * self.eps) * std + mean


def patch_to_steps(cfg: ForecasterConfig) -> Tensor:
    """(P, L) matrix spreading a weight on patch p evenly over the real steps it covers.

    The last patch is partly padding (a repeat of the last value); its weight goes to the real
    steps it covers (to the last step when it is all padding), so each row sums to 1.
    """
    spread = torch.zeros(cfg.n_patches, cfg.input_len)
    for p in range(cfg.n_patches):
        start = min(p * cfg.stride, cfg.input_len - 1)
        stop = min(p * cfg.stride + cfg.patch_len, cfg.input_len)
        spread[p, start:stop] = 1.0 / (stop - start)
    return spread


class PatchForecaster(nn.Module):
    """Forecasts H steps of every target channel from L steps of history, with attention."""

    def __init__(self, cfg: ForecasterConfig) -> None:
        super().__init__()
        self.cfg = cfg
        E, P = cfg.d_model, cfg.n_patches
        self.revin = RevIN(cfg.n_channels) if cfg.revin else None
        self.embed = nn.Linear(cfg.patch_len, E)
        self.position = LearnedPositionalEncoding(E, max_len=P)
        self.drop = nn.Dropout(cfg.dropout)
        self.encoder = TransformerEncoder(E, cfg.heads, cfg.ff_dim, cfg.layers, cfg.dropout,
                                          attn_dropout=cfg.attn_dropout)
        self.channel_encoder = (TransformerEncoder(E, cfg.heads, cfg.ff_dim, cfg.channel_layers,
                                                   cfg.dropout, attn_dropout=cfg.attn_dropout)
                                if cfg.channel_layers else None)
        self.head = nn.Sequential(nn.Dropout(cfg.head_dropout),
                                  nn.Linear(P * E, cfg.horizon * cfg.n_quantiles))
        self.register_buffer("levels", torch.tensor(cfg.quantiles or (0.5,)), persistent=False)
        self.skip = nn.Linear(cfg.input_len, cfg.horizon) if cfg.linear_skip else None
        if self.skip is not None:
            self.skip.requires_grad_(cfg.skip_trainable)
        self.register_buffer("spread", patch_to_steps(cfg), persistent=False)
        if self.blends:  # the attention path's share of the forecast, saved with the weights;
            # 1 while training (the path learns to forecast alone), then set on validation
            self.register_buffer("mix", torch.ones(()))

    @property
    def blends(self) -> bool:
        return self.cfg.linear_skip and self.cfg.combine == "blend"

    @torch.no_grad()
    def fit_skip(self, batches: Iterable[dict[str, Tensor]],
                 val_batches: Iterable[dict[str, Tensor]] | None = None) -> float:
        """Fit the linear skip by ridge least squares on training windows, with the attention
        path's head set to zero (so the model starts as the best linear forecaster).

        With RevIN and a zero head the attention path forecasts each window's mean; the skip is
        fit to what remains, measured from its anchor: the future minus the anchor, from the
        history minus the anchor (both divided by the window's spread for 'norm').

        Args:
            batches: training windows, dicts with x (B, L, C) and y (B, H, C_out).
            val_batches: validation windows; with ``cfg.ridge_grid`` they pick the penalty:
                the largest one within one standard error of the lowest validation MSE, each
                batch one block of the standard error (``attnpred.selection``).
        Returns:
            The ridge penalty used (also set in ``self.cfg.ridge``).
        """
        if self.skip is None:
            raise ValueError("fit_skip needs linear_skip=True")
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)
        gram, cross, _, _ = self._normal_equations(batches)
        ridges = self.cfg.ridge_grid if self.cfg.ridge_grid and val_batches is not None \
            else (self.cfg.ridge,)
        ridges = sorted(set(ridges), reverse=True)  # the simplest (most shrunk) first
        solutions = [self._solve(gram, cross, r) for r in ridges]
        if len(ridges) > 1:  # one block per validation batch
            blocks = [self._normal_equations([b]) for b in val_batches]
            errors = [[float((torch.trace(w.T @ g @ w) - 2 * torch.trace(w.T @ c) + sq) / n)
                       for g, c, sq, n in blocks] for w in solutions]
            self.cfg.ridge = ridges[one_standard_error(errors).index]
        else:  # a one-value grid is that penalty
            self.cfg.ridge = ridges[0]
        solution = solutions[ridges.index(self.cfg.ridge)]
        L = self.cfg.input_len
        self.skip.weight.copy_(solution[:L].T.float())
        self.skip.bias.copy_(solution[L].float())
        return self.cfg.ridge

    def _normal_equations(self, batches: Iterable[dict[str, Tensor]]
                          ) -> tuple[Tensor, Tensor, Tensor, int]:
        """Z'Z (L+1, L+1), Z'Y (L+1, H), sum of Y^2 and the count of Y entries, where a row
        of Z is one channel's history minus its anchor (plus a bias 1) and Y its future minus
        the anchor."""
        L, H = self.cfg.input_len, self.cfg.horizon
        gram = torch.zeros(L + 1, L + 1, dtype=torch.float64)
        cross = torch.zeros(L + 1, H, dtype=torch.float64)
        sq, count = torch.zeros((), dtype=torch.float64), 0
        for batch in batches:
            x = batch["x"][..., self.cfg.target_list]
            shift, scale = self.anchor(x)
            x = (x - shift) / scale
            y = ((batch["y"] - shift) / scale).transpose(1, 2)
            y = y.reshape(-1, H).double()
            z = x.transpose(1, 2).reshape(-1, L).double()  # (B*C_out, L)
            z = torch.cat([z, torch.ones(len(z), 1, dtype=z.dtype)], 1)  # bias column
            gram += z.T @ z
            cross += z.T @ y
            sq, count = sq + (y ** 2).sum(), count + y.numel()
        return gram, cross, sq, count

    @staticmethod
    def _solve(gram: Tensor, cross: Tensor, ridge: float) -> Tensor:
        """Ridge solution (L+1, H); the penalty is relative to the mean diagonal."""
        eye = torch.eye(len(gram), dtype=gram.dtype)
        return torch.linalg.solve(gram + ridge * gram.diagonal().mean() * eye, cross)

    def anchor(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, L, C) -> shift and scale (B, 1, C): the linear skip reads
        (history - shift) / scale and forecasts in those units."""
        one = torch.ones_like(x[:, :1])
        if self.cfg.skip_anchor == "last":
            return x[:, -1:], one
        if self.cfg.skip_anchor == "mean":
            return x.mean(1, keepdim=True), one
        if self.cfg.skip_anchor == "norm":
            return x.mean(1, keepdim=True), x.std(1, unbiased=False, keepdim=True) + 1e-5
        return torch.zeros_like(one), one

    def _skip(self, raw: Tensor, base: Tensor) -> Tensor:
        """The linear skip's forecast (B, H, C) added to the attention path's, whose forecast
        at a zero head is ``base`` (B, 1, C): shift + scale (W (history - shift) / scale + b)
        - base."""
        shift, scale = self.anchor(raw)
        z = self.skip(((raw - shift) / scale).transpose(1, 2)).transpose(1, 2)
        return shift - base + scale * z

    def _patches(self, z: Tensor) -> Tensor:
        """z: (B, C, L) -> (B, C, P, patch_len)."""
        z = F.pad(z, (0, self.cfg.stride), mode="replicate")
        return z.unfold(-1, self.cfg.patch_len, self.cfg.stride)

    def _mix_channels(self, h: Tensor, need_weights: bool) -> tuple[Tensor, tuple[Tensor, ...]]:
        """h: (B, C, P, E) -> same, after attention across channels at each patch."""
        if self.channel_encoder is None:
            return h, ()
        b, c, p, e = h.shape
        flat = h.transpose(1, 2).reshape(b * p, c, e)  # (B*P, C, E)
        out = self.channel_encoder(flat, need_weights=need_weights)
        return out.hidden.view(b, p, c, e).transpose(1, 2), out.attentions

    def history_attention(self, attentions: tuple[Tensor, ...], batch: int) -> Tensor:
        """Per-layer (B*C, h, P, P) -> (B, C_out, L): attention received by each history step."""
        received = torch.stack(attentions).mean(dim=(0, 2)).mean(dim=1)  # (B*C, P)
        steps = received @ self.spread  # (B*C, L)
        steps = steps.view(batch, self.cfg.n_channels, self.cfg.input_len)
        return steps[:, self.cfg.target_list]

    def forward(self, x: Tensor, y: Tensor | None = None,
                return_attention: bool = False) -> ForecastOutput:
        """Forecast from history.

        Args:
            x: (B, L, C) histories (scaled). y: (B, H, C_out) futures, for the loss.
            return_attention: also return the attention weights (explicit attention path).
        Returns:
            ForecastOutput with forecast (B, H, C_out).
        """
        b, raw = x.shape[0], x
        base = torch.zeros_like(x[:, :1])  # the attention path's forecast at a zero head
        if self.revin is not None:
            x, mean, std = self.revin.normalise(x)
            base = self.revin.denormalise(base, mean, std)
        z = x.transpose(1, 2)  # (B, C, L)
        tokens = self.embed(self._patches(z))  # (B, C, P, E)
        c, p, e = tokens.shape[1:]
        tokens = self.drop(self.position(tokens.reshape(b * c, p, e)))  # (B*C, P, E)
        enc = self.encoder(tokens, need_weights=return_attention)
        h, channel_attn = self._mix_channels(enc.hidden.view(b, c, p, e), return_attention)
        q = self.cfg.n_quantiles
        out = self.head(h.flatten(2)).view(b, c, self.cfg.horizon, q).permute(0, 2, 1, 3)
        if self.revin is not None:  # (B, H, C, Q)
            out = self.revin.denormalise(out.movedim(-1, 0), mean, std).movedim(0, -1)
        attention_part = out - base.unsqueeze(-1)  # beyond the attention path's zero-head base
        if self.blends:  # (1 - mix) * skip + mix * attention; training fits the path alone
            skip = (base + self._skip(raw, base)).unsqueeze(-1)
            mix = 1.0 if self.training else self.mix
            attention_part = mix * (out - skip)
            out = skip + attention_part
        elif self.skip is not None:
            out = out + self._skip(raw, base).unsqueeze(-1)
        out = out[:, :, self.cfg.target_list]  # (B, H, C_out, Q)
        if q > 1:  # monotone rearrangement: quantile forecasts never cross
            out = out.sort(dim=-1).values
        median = self.cfg.quantiles.index(0.5) if self.cfg.quantiles else 0
        forecast = out[..., median]
        quantiles = out if self.cfg.quantiles else None
        loss = forecast_loss(forecast, y) if quantiles is None or y is None else \
            pinball_loss(quantiles, y, self.levels)
        if not return_attention:
            return ForecastOutput(forecast, loss, quantiles=quantiles)
        return ForecastOutput(forecast, loss, enc.attentions, channel_attn,
                              self.history_attention(enc.attentions, b),
                              attention_part[:, :, self.cfg.target_list, median], quantiles)
