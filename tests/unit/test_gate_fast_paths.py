"""The gate's fast paths give exactly what the slow, obvious code gives (docs/performance.md)."""

from hypothesis import given
from hypothesis import strategies as st

from contracts.person import _plain, _plain_unicode
from contracts.text import _unstorable_paths, unstorable_paths

# ASCII (spaces and control characters included), then anything, surrogates included
texts = st.text(st.characters(max_codepoint=127)) | st.text(st.characters(codec=None, exclude_categories=()))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts | st.integers(), inner, max_size=4),
    max_leaves=12,
)


@given(texts)
def test_plain_text_is_the_same_on_the_ascii_fast_path(text):
    assert _plain(text) == _plain_unicode(text)


@given(json_values, st.sampled_from(["", "data"]))
def test_unstorable_paths_are_the_same_with_the_precheck(value, path):
    assert list(unstorable_paths(value, path)) == list(_unstorable_paths(value, path))


def test_a_nul_or_a_lone_surrogate_anywhere_is_found():
    for bad in ("a\x00b", "\ud800", "x\udfffy"):
        assert list(unstorable_paths({"data": {"k": [1, bad]}})) == ["data.k.1"]
        assert list(unstorable_paths({bad: 1})) == ["body"]
    assert list(unstorable_paths({"t": "spells \\u0000 only"})) == []
