"""A number split by ASCII whitespace or a control character is still found on the ASCII fast path
of the personnummer search's normal form (that the fast path and the general one agree, for every
text, is held in test_gate_fast_paths.py)."""

from contracts.person import contains_person_id


def test_a_number_split_by_ascii_whitespace_is_still_found():
    assert contains_person_id("journal 19121212\t1212")
    assert contains_person_id("journal 19121212\x1f1212")
