from contracts.export_schemas import differences


def test_the_committed_json_schemas_match_the_models():
    assert differences() == [], "run `make schemas` and commit contracts/schemas/"
