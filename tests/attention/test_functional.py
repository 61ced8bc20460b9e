"""The functional kernel: fused and explicit paths agree, masking is exact, dropout is honest."""
import pytest
import torch

from attnpred.attention import causal_mask, masked_softmax, scaled_dot_product_attention

B, H, D = 2, 3, 4


def qkv(t: int, s: int, seed: int = 0, grad: bool = False):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, H, t, D, generator=g)
    k = torch.randn(B, H, s, D, generator=g)
    v = torch.randn(B, H, s, D + 1, generator=g)  # Dv != D on purpose
    return [x.requires_grad_(grad) for x in (q, k, v)]


def lengths_mask(lengths: list[int], s: int) -> torch.Tensor:
    return torch.arange(s)[None, :] < torch.tensor(lengths)[:, None]  # (B, S)


def random_attn_mask(t: int, s: int, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(B, 1, t, s, generator=g) > 0.4
    mask[..., 0] = True  # every query sees at least one key
    return mask


CASES = {
    "plain": dict(t=5, s=5),
    "padding": dict(t=5, s=5, key_mask=[5, 3]),
    "causal": dict(t=5, s=5, causal=True),
    "causal+padding": dict(t=5, s=5, causal=True, key_mask=[5, 2]),
    "attn_mask": dict(t=5, s=5, attn_mask=True),
    "attn_mask+padding+causal": dict(t=5, s=5, attn_mask=True, key_mask=[4, 5], causal=True),
    "cross": dict(t=3, s=7, key_mask=[7, 4]),
    "cross+attn_mask": dict(t=3, s=7, attn_mask=True),
    "causal T<S (cache)": dict(t=2, s=6, causal=True),
    "causal T<S + padding": dict(t=2, s=6, causal=True, key_mask=[6, 5]),
}


def run_case(case: dict, need_weights: bool, grad: bool = False):
    t, s = case["t"], case["s"]
    q, k, v = qkv(t, s, grad=grad)
    key_mask = lengths_mask(case["key_mask"], s) if "key_mask" in case else None
    attn_mask = random_attn_mask(t, s) if case.get("attn_mask") else None
    res = scaled_dot_product_attention(q, k, v, key_mask=key_mask, attn_mask=attn_mask,
                                       causal=case.get("causal", False),
                                       need_weights=need_weights)
    return res, (q, k, v), key_mask, attn_mask


@pytest.mark.parametrize("name", list(CASES))
def test_fast_and_explicit_paths_agree(name):
    fast, _, _, _ = run_case(CASES[name], need_weights=False)
    slow, _, _, _ = run_case(CASES[name], need_weights=True)
    assert fast.weights is None and slow.weights is not None
    assert fast.output.shape == (B, H, CASES[name]["t"], D + 1)
    torch.testing.assert_close(fast.output, slow.output, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", list(CASES))
def test_gradients_of_both_paths_agree(name):
    grads = []
    for need_weights in (False, True):
        res, inputs, _, _ = run_case(CASES[name], need_weights, grad=True)
        res.output.square().sum().backward()
        grads.append([x.grad for x in inputs])
    for fast, slow in zip(*grads):
        torch.testing.assert_close(fast, slow, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", list(CASES))
def test_weights_are_distributions_and_masked_keys_get_exact_zero(name):
    res, (_, _, v), key_mask, attn_mask = run_case(CASES[name], need_weights=True)
    t, s = CASES[name]["t"], CASES[name]["s"]
    w = res.weights
    assert w.shape == (B, H, t, s)
    torch.testing.assert_close(w.sum(-1), torch.ones(B, H, t))
    keep = torch.ones(B, 1, t, s, dtype=torch.bool)
    if key_mask is not None:
        keep = keep & key_mask[:, None, None, :]
    if attn_mask is not None:
        keep = keep & attn_mask
    if CASES[name].get("causal"):
        keep = keep & causal_mask(t, s, offset=s - t)
    assert (w.masked_select(~keep.expand_as(w)) == 0.0).all()
    assert (w.masked_select(keep.expand_as(w)) > 0.0).all()
    torch.testing.assert_close(res.output, w @ v)


def test_causal_upper_triangle_is_exactly_zero():
    res, _, _, _ = run_case(CASES["causal"], need_weights=True)
    upper = torch.ones(5, 5, dtype=torch.bool).triu(1)
    assert (res.weights[..., upper] == 0.0).all()
    assert (res.weights[..., ~upper] > 0.0).all()
    # query 0 sees only key 0
    assert (res.weights[..., 0, 0] == 1.0).all()


def test_causal_mask_with_offset_aligns_to_the_end():
    m = causal_mask(2, 5, offset=3)
    assert m.tolist() == [[True, True, True, True, False], [True] * 5]


@pytest.mark.parametrize("need_weights", [False, True])
def test_fully_masked_query_gives_zero_output_and_weights_without_nan(need_weights):
    q, k, v = qkv(4, 4, grad=True)
    key_mask = lengths_mask([4, 0], 4)  # the second sequence has no real key
    attn_mask = torch.ones(1, 1, 4, 4, dtype=torch.bool)
    attn_mask[..., 2, :] = False  # and query 2 sees nothing anywhere
    res = scaled_dot_product_attention(q, k, v, key_mask=key_mask, attn_mask=attn_mask,
                                       need_weights=need_weights)
    assert not res.output.isnan().any()
    assert (res.output[1] == 0.0).all() and (res.output[0, :, 2] == 0.0).all()
    assert res.output[0, :, [0, 1, 3]].abs().sum() > 0
    if need_weights:
        assert (res.weights[1] == 0.0).all() and (res.weights[0, :, 2] == 0.0).all()
        torch.testing.assert_close(res.weights[0, :, [0, 1, 3]].sum(-1), torch.ones(H, 3))
    res.output.sum().backward()
    for x in (q, k, v):
        assert not x.grad.isnan().any()


def test_masked_softmax_fully_masked_row_and_no_mask():
    scores = torch.randn(2, 3)
    mask = torch.tensor([[True, False, True], [False, False, False]])
    w = masked_softmax(scores, mask)
    assert w[0, 1] == 0.0 and (w[1] == 0.0).all()
    torch.testing.assert_close(w[0].sum(), torch.tensor(1.0))
    torch.testing.assert_close(masked_softmax(scores, None), scores.softmax(-1))


def test_dropout_returns_pre_dropout_weights_and_changes_the_output():
    q, k, v = qkv(6, 6)
    key_mask = lengths_mask([6, 4], 6)
    clean = scaled_dot_product_attention(q, k, v, key_mask=key_mask, need_weights=True)
    torch.manual_seed(0)
    dropped = scaled_dot_product_attention(q, k, v, key_mask=key_mask, dropout_p=0.5,
                                           need_weights=True)
    torch.testing.assert_close(dropped.weights, clean.weights)  # pre-dropout distribution
    assert not torch.allclose(dropped.output, clean.output)
    torch.manual_seed(0)
    fused = scaled_dot_product_attention(q, k, v, key_mask=key_mask, dropout_p=0.5)
    assert not torch.allclose(fused.output, clean.output)


def test_float_attn_mask_is_refused():
    q, k, v = qkv(3, 3)
    with pytest.raises(TypeError, match="boolean"):
        scaled_dot_product_attention(q, k, v, attn_mask=torch.zeros(3, 3))


def test_fully_masked_query_gradients_agree_on_both_paths():
    grads = []
    for need_weights in (False, True):
        q, k, v = qkv(4, 4, grad=True)
        key_mask = lengths_mask([4, 0], 4)
        res = scaled_dot_product_attention(q, k, v, key_mask=key_mask, causal=True,
                                           need_weights=need_weights)
        res.output.square().sum().backward()
        grads.append([x.grad for x in (q, k, v)])
    for fast, slow in zip(*grads):
        torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-5)
    assert (grads[1][0][1] == 0).all()  # a query that sees nothing gets no gradient


def test_gradient_through_the_weights_matches_a_plain_softmax():
    """A loss on the weights themselves (attention supervision) gets the textbook gradient."""
    target = torch.rand(B, H, 5, 5)
    grads = []
    for plain in (False, True):
        q, k, _ = qkv(5, 5, grad=True)
        key_mask = lengths_mask([5, 3], 5)
        if plain:
            scores = (q @ k.transpose(-2, -1)) / D ** 0.5
            weights = scores.masked_fill(~key_mask[:, None, None, :], float("-inf")).softmax(-1)
        else:
            weights = scaled_dot_product_attention(q, k, k, key_mask=key_mask,
                                                   need_weights=True).weights
        (weights * target).sum().backward()
        grads.append((q.grad, k.grad))
    for ours, plain in zip(*grads):
        torch.testing.assert_close(ours, plain)
