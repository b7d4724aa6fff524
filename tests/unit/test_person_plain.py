"""The ASCII fast path of the personnummer search's normal form is the general one, for ASCII."""

from hypothesis import given
from hypothesis import strategies as st

from contracts.person import _plain, _plain_unicode, contains_person_id


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_text_gets_the_normal_form_the_general_path_gives(text):
    assert _plain(text) == _plain_unicode(text)


def test_a_number_split_by_ascii_whitespace_is_still_found():
    assert contains_person_id("journal 19121212\t1212")
    assert contains_person_id("journal 19121212\x1f1212")
