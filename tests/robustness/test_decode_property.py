"""Property: decoding any bytes without a named encoding either gives text (with a warning
when the bytes were not UTF-8) or one user error; never a silent guess, never a crash."""
from __future__ import annotations

import warnings

from hypothesis import given, settings
from hypothesis import strategies as st

from attnpred.data.text import TextEncodingWarning, decode_bytes
from attnpred.errors import AttnpredError

TEXTISH = st.one_of(st.binary(max_size=300),
                    st.text(max_size=100).map(lambda t: t.encode("utf-8")),
                    st.text(alphabet=st.characters(max_codepoint=255), max_size=100)
                    .map(lambda t: t.encode("latin-1")),
                    st.tuples(st.text(max_size=50), st.binary(max_size=5), st.text(max_size=50))
                    .map(lambda p: p[0].encode() + p[1] + p[2].encode()))


@settings(max_examples=300, deadline=None)
@given(TEXTISH)
def test_any_bytes_decode_or_fail_clearly(data):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            text = decode_bytes(data, None, "f.txt")
        except AttnpredError as exc:
            assert exc.file == "f.txt"
            return
    try:
        utf8 = data.decode("utf-8-sig") if data[:2] not in (b"\xff\xfe", b"\xfe\xff") else None
    except UnicodeDecodeError:
        utf8 = None
        assert any(issubclass(w.category, TextEncodingWarning) for w in caught), \
            "non-UTF-8 bytes decoded without a warning"
        assert text == data.decode("latin-1")
    if utf8 is not None:
        assert text == utf8 and not caught
