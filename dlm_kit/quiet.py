"""A context that hides known-harmless library noise: progress bars, info logs, chatty warnings.

Notebook outputs are read by learners and compared by nbval, so a ``Running loglikelihood
requests: 37%`` bar, an lm-eval notice that a model was "passed already initialized", or a
transformers hint about attention masks on an unpadded batch is noise there. :func:`quiet`
switches exactly these off for the duration of a ``with`` block and restores everything after:

- every ``tqdm`` progress bar (lm-eval's request bars, datasets' map bars, transformers' loading
  bars), including bars a library creates with an explicit ``disable=False``;
- the ``transformers``, ``datasets``, ``lm_eval``, ``accelerate`` and ``evaluate`` loggers below
  ERROR;
- Python warnings whose message matches :data:`KNOWN_HARMLESS` (nothing else: a warning the kit
  raises about your inputs, such as a random MLM head, still shows).

Errors are never hidden: exceptions propagate as usual.

    >>> import logging, warnings
    >>> from tqdm.auto import tqdm
    >>> level = logging.getLogger("lm_eval").level
    >>> with quiet():
    ...     bar = tqdm(range(3), disable=False)
    ...     logging.getLogger("lm_eval").warning("hidden")
    >>> bar.disable
    True
    >>> logging.getLogger("lm_eval").level == level  # restored
    True
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["KNOWN_HARMLESS", "NOISY_LOGGERS", "quiet"]

NOISY_LOGGERS = ("transformers", "datasets", "lm_eval", "lm-eval", "accelerate", "evaluate", "huggingface_hub")
"""Loggers held at ERROR inside :func:`quiet` (their INFO/WARNING lines are progress and hints)."""

KNOWN_HARMLESS = (
    r".*`pretrained` model kwarg is not of type `str`.*",  # lm-eval, given a model object on purpose
    r".*Passed an already-initialized model.*",
    r".*We strongly recommend passing in an `attention_mask`.*",  # unpadded single rows
    r".*Custom kwargs can be passed to `--metadata`.*",
    r".*`torch_dtype` is deprecated.*",
    r".*TypedStorage is deprecated.*",
)
"""Message patterns of Python warnings :func:`quiet` hides; each is a hint that does not apply."""


@contextmanager
def quiet(progress_bars: bool = True) -> Iterator[None]:
    """Hide progress bars, library info logs and :data:`KNOWN_HARMLESS` warnings inside the block.

    Args:
        progress_bars: also disable every ``tqdm`` bar (default). Pass ``False`` to keep the bars
            of long work you want to watch while still silencing logs and warnings.
    """
    import tqdm.std

    saved_levels = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    # the class attribute itself (a partialmethod in recent tqdm), put back unchanged on exit;
    # tqdm reads its TQDM_* environment variables at import, so setting them here would do nothing
    saved_init = tqdm.std.tqdm.__dict__["__init__"]
    original_init = tqdm.std.tqdm.__init__

    def init_disabled(self, *args, **kwargs):  # libraries pass disable=False explicitly; override it
        kwargs["disable"] = True
        original_init(self, *args, **kwargs)

    hf_bars = _hf_progress_bars_enabled()
    try:
        for name in NOISY_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
        if progress_bars:
            tqdm.std.tqdm.__init__ = init_disabled
            _set_hf_progress_bars(False)
        with warnings.catch_warnings():
            for pattern in KNOWN_HARMLESS:
                warnings.filterwarnings("ignore", message=pattern)
            yield
    finally:
        tqdm.std.tqdm.__init__ = saved_init
        if progress_bars:
            _set_hf_progress_bars(hf_bars)
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)


def _hf_progress_bars_enabled() -> dict[str, bool]:
    state = {}
    try:
        from transformers.utils import logging as hf_logging

        state["transformers"] = hf_logging.is_progress_bar_enabled()
    except ImportError:
        pass
    try:
        import datasets

        state["datasets"] = datasets.is_progress_bar_enabled()
    except (ImportError, AttributeError):
        pass
    return state


def _set_hf_progress_bars(enabled: bool | dict[str, bool]) -> None:
    """Switch transformers' and datasets' own bar flags (they bypass tqdm's ``disable``)."""
    for lib in ("transformers", "datasets"):
        on = enabled if isinstance(enabled, bool) else enabled.get(lib)
        if on is None:
            continue
        try:
            if lib == "transformers":
                from transformers.utils import logging as module
            else:
                import datasets as module
        except ImportError:
            continue
        (module.enable_progress_bar if on else module.disable_progress_bar)()
