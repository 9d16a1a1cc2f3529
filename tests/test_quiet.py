"""`dlm_kit.quiet`: notebook outputs without bars or chatty logs; real problems still shown."""

import io
import logging
import warnings
from contextlib import redirect_stderr

from tqdm.auto import tqdm

from dlm_kit.quiet import quiet


def test_bars_logs_and_known_warnings_are_hidden_and_restored():
    from tqdm import std as tqdm_std

    before = tqdm_std.tqdm.__dict__["__init__"]
    level = logging.getLogger("lm_eval").level
    buffer = io.StringIO()
    with redirect_stderr(buffer), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet():
            for _ in tqdm(range(5), desc="requests", disable=False, file=buffer):
                pass
            logging.getLogger("lm_eval").warning("Passed an already-initialized model")
            warnings.warn("Passed an already-initialized model through `pretrained`")
    assert "requests" not in buffer.getvalue()
    assert caught == []
    assert logging.getLogger("lm_eval").level == level
    assert tqdm_std.tqdm.__dict__["__init__"] is before  # the very same attribute is back
    after = io.StringIO()
    for _ in tqdm(range(2), desc="after", file=after, disable=False):
        pass
    assert "after" in after.getvalue()  # bars work again outside the block


def test_unknown_warnings_and_errors_still_surface():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet():
            warnings.warn("model.safetensors: 2 weights start random")
    assert [str(w.message) for w in caught] == ["model.safetensors: 2 weights start random"]
    try:
        with quiet():
            raise ValueError("bad input")
    except ValueError as error:
        assert str(error) == "bad input"
    else:
        raise AssertionError("quiet() swallowed an exception")


def test_progress_bars_can_be_kept():
    buffer = io.StringIO()
    with quiet(progress_bars=False):
        for _ in tqdm(range(3), desc="kept", file=buffer, disable=False):
            pass
    assert "kept" in buffer.getvalue()
