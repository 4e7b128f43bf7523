"""A local backbone that does not exist is named as such, and no backbone directory is left
behind."""

import pytest

from maec.data.hub import fetch_model

pytestmark = pytest.mark.reliability


@pytest.mark.parametrize("source", ["/nonexistent/llama3", "./models/llama3", "models/a/b"])
def test_a_missing_local_backbone_is_named_as_such(tmp_path, source):
    with pytest.raises(FileNotFoundError, match=r"the local model directory .* does not exist"):
        fetch_model(source, tmp_path / "backbone")
    assert not (tmp_path / "backbone").exists()
