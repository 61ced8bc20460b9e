"""MultiHeadAttention: parity with torch.nn.MultiheadAttention, and the key/value cache."""
import pytest
import torch
from torch import nn

from attnpred.attention import KVCache, MultiHeadAttention

E, H = 8, 2


def copy_from_torch(ref: nn.MultiheadAttention, ours: MultiHeadAttention) -> None:
    """Give ``ours`` exactly the weights of ``ref`` (packed or separate input projections)."""
    with torch.no_grad():
        if ref._qkv_same_embed_dim:
            wq, wk, wv = ref.in_proj_weight.chunk(3)
        else:
            wq, wk, wv = ref.q_proj_weight, ref.k_proj_weight, ref.v_proj_weight
        bq, bk, bv = ref.in_proj_bias.chunk(3)
        for proj, w, b in ((ours.q_proj, wq, bq), (ours.k_proj, wk, bk), (ours.v_proj, wv, bv)):
            proj.weight.copy_(w)
            proj.bias.copy_(b)
        ours.out_proj.weight.copy_(ref.out_proj.weight)
        ours.out_proj.bias.copy_(ref.out_proj.bias)


def pair(kdim=None, vdim=None, seed=0):
    torch.manual_seed(seed)
    ref = nn.MultiheadAttention(E, H, batch_first=True, kdim=kdim, vdim=vdim).eval()
    ours = MultiHeadAttention(E, H, kdim=kdim, vdim=vdim).eval()
    copy_from_torch(ref, ours)
    return ref, ours


def keep_mask(lengths, s):
    return torch.arange(s)[None, :] < torch.tensor(lengths)[:, None]  # (B, S) True = real


@pytest.mark.parametrize("need_weights", [False, True])
def test_self_attention_matches_torch_mha_with_padding(need_weights):
    ref, ours = pair()
    x = torch.randn(3, 5, E)
    key_mask = keep_mask([5, 3, 1], 5)
    ref_out, ref_w = ref(x, x, x, key_padding_mask=~key_mask, need_weights=True,
                         average_attn_weights=True)
    out = ours(x, key_mask=key_mask, need_weights=need_weights)
    torch.testing.assert_close(out.output, ref_out, atol=1e-5, rtol=1e-5)
    if need_weights:
        assert out.weights.shape == (3, H, 5, 5)
        torch.testing.assert_close(out.weights.mean(1), ref_w, atol=1e-6, rtol=1e-5)
    else:
        assert out.weights is None


def test_per_head_weights_match_torch_unaveraged():
    ref, ours = pair(seed=1)
    x = torch.randn(2, 4, E)
    key_mask = keep_mask([4, 2], 4)
    _, ref_w = ref(x, x, x, key_padding_mask=~key_mask, average_attn_weights=False)
    torch.testing.assert_close(ours(x, key_mask=key_mask, need_weights=True).weights, ref_w,
                               atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("need_weights", [False, True])
def test_cross_attention_with_other_key_and_value_widths_matches_torch(need_weights):
    ref, ours = pair(kdim=6, vdim=5, seed=2)
    query, key, value = torch.randn(2, 3, E), torch.randn(2, 7, 6), torch.randn(2, 7, 5)
    key_mask = keep_mask([7, 4], 7)
    ref_out, ref_w = ref(query, key, value, key_padding_mask=~key_mask)
    out = ours(query, key, value, key_mask=key_mask, need_weights=need_weights)
    torch.testing.assert_close(out.output, ref_out, atol=1e-5, rtol=1e-5)
    if need_weights:
        assert out.weights.shape == (2, H, 3, 7)
        torch.testing.assert_close(out.weights.mean(1), ref_w, atol=1e-6, rtol=1e-5)


def test_causal_matches_torch_with_causal_attn_mask():
    ref, ours = pair(seed=3)
    x = torch.randn(2, 6, E)
    torch_mask = nn.Transformer.generate_square_subsequent_mask(6)  # float, -inf above diag
    ref_out, ref_w = ref(x, x, x, attn_mask=torch_mask)
    out = ours(x, causal=True, need_weights=True)
    torch.testing.assert_close(out.output, ref_out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.weights.mean(1), ref_w, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(ours(x, causal=True).output, ref_out, atol=1e-5, rtol=1e-5)


def test_embed_dim_must_divide_into_heads():
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(10, 3)


def test_injected_projection_is_used():
    q_proj = nn.Linear(E, E)
    mha = MultiHeadAttention(E, H, q_proj=q_proj)
    assert mha.q_proj is q_proj
    x = torch.randn(1, 3, E)
    before = mha(x).output
    with torch.no_grad():
        q_proj.weight.mul_(3.0)
    assert not torch.allclose(mha(x).output, before)


def test_packed_self_attention_projection_equals_three_projections():
    torch.manual_seed(7)
    mha = MultiHeadAttention(E, H)
    x = torch.randn(2, 4, E, requires_grad=True)
    packed = mha(x, need_weights=True)  # key is query: one stacked matmul
    separate = mha(x, x.clone(), x.clone(), need_weights=True)  # three projections
    torch.testing.assert_close(packed.output, separate.output, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(packed.weights, separate.weights, atol=1e-6, rtol=1e-5)
    packed.output.sum().backward()
    grad = mha.k_proj.weight.grad.clone()
    mha.zero_grad()
    separate.output.sum().backward()
    torch.testing.assert_close(grad, mha.k_proj.weight.grad, atol=1e-5, rtol=1e-5)


def test_projection_hooks_still_run_on_self_attention():
    mha = MultiHeadAttention(E, H)
    seen = []
    mha.k_proj.register_forward_hook(lambda module, args, out: seen.append(out.shape))
    mha(torch.randn(1, 3, E))
    assert seen == [(1, 3, E)]


def test_incremental_decoding_with_cache_equals_full_causal_attention():
    torch.manual_seed(4)
    mha = MultiHeadAttention(E, H).eval()
    x = torch.randn(2, 6, E)
    full = mha(x, causal=True, need_weights=True)
    cache = KVCache()
    for i in range(6):
        step = mha(x[:, i:i + 1], causal=True, need_weights=True, cache=cache)
        assert cache.length == i + 1
        torch.testing.assert_close(step.output[:, 0], full.output[:, i], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(step.weights[:, :, 0], full.weights[:, :, i, :i + 1],
                                   atol=1e-6, rtol=1e-5)
        fused = mha(x[:, i:i + 1], causal=True,
                    cache=KVCache(cache.k[:, :, :i], cache.v[:, :, :i]))  # fast path too
        torch.testing.assert_close(fused.output[:, 0], full.output[:, i], atol=1e-5, rtol=1e-5)


def test_static_cross_attention_cache_equals_recomputation():
    torch.manual_seed(5)
    mha = MultiHeadAttention(E, H, kdim=6, vdim=6).eval()
    memory = torch.randn(2, 7, 6)
    key_mask = keep_mask([7, 3], 7)
    cache = KVCache(static=True)
    for _ in range(3):
        query = torch.randn(2, 1, E)
        cached = mha(query, memory, key_mask=key_mask, cache=cache, need_weights=True)
        fresh = mha(query, memory, key_mask=key_mask, need_weights=True)
        torch.testing.assert_close(cached.output, fresh.output)
        torch.testing.assert_close(cached.weights, fresh.weights)
        assert cache.length == 7
    # the cache is used, not the memory: a different memory gives the cached answer
    again = mha(query, torch.zeros(2, 7, 6), key_mask=key_mask, cache=cache)
    torch.testing.assert_close(again.output, fresh.output)


def test_cache_reorder_selects_batch_rows():
    k, v = torch.randn(3, H, 4, 2), torch.randn(3, H, 4, 2)
    cache = KVCache(k.clone(), v.clone())
    cache.reorder(torch.tensor([2, 2, 0]))
    torch.testing.assert_close(cache.k, k[[2, 2, 0]])
    torch.testing.assert_close(cache.v, v[[2, 2, 0]])
    empty = KVCache()
    empty.reorder(torch.tensor([0]))
    assert empty.length == 0


def test_dropout_only_in_training():
    torch.manual_seed(6)
    mha = MultiHeadAttention(E, H, dropout=0.5)
    x = torch.randn(2, 5, E)
    mha.eval()
    eval_out = mha(x, need_weights=True)
    torch.testing.assert_close(mha(x).output, eval_out.output)
    mha.train()
    train_out = mha(x, need_weights=True)
    assert not torch.allclose(train_out.output, eval_out.output)
    torch.testing.assert_close(train_out.weights, eval_out.weights)  # pre-dropout
