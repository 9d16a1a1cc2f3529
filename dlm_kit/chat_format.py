"""The chat format: how messages become a prompt, and where a generated answer ends.

The kit speaks the released ModernBERT chat checkpoints' format (:data:`CHAT_TEMPLATE`: plain-text
tags ``[Question]`` ... ``[/Answer]``). This module holds everything that format decides, below
any model: the template and its tags, :func:`prepare_tokenizer` (mask, EOS, padding side,
template), :func:`add_chat_tag_tokens`, :func:`build_prompt` for the sampler, and the end of an
answer (:data:`END_OF_ANSWER`, :func:`answer_stop_sequences`, :func:`find_end_of_answer`,
:func:`trim_answer`, :func:`strip_tag_fragment`). ``dlm_kit.backbones`` and ``dlm_kit.chat``
re-export these names.

    >>> from dlm_kit.backbones import build_tiny_tokenizer
    >>> tok = build_tiny_tokenizer()
    >>> tok.convert_ids_to_tokens(build_prompt(tok, "What is 42?"))
    ['[Question]', 'What', 'is', '42', '?', '[/Question]', '[Answer]']
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = [
    "is_clean_answer",
    "CHAT_TEMPLATE",
    "CHAT_TAGS",
    "END_OF_ANSWER",
    "prepare_tokenizer",
    "add_chat_tag_tokens",
    "sync_special_ids",
    "build_prompt",
    "answer_stop_sequences",
    "find_end_of_answer",
    "trim_answer",
    "strip_tag_fragment",
    "generation_prompt_suffix",
]

# The released ModernBERT chat checkpoints' format, as plain-text tags (see docs/design.md).
# Written for Hugging Face's jinja settings (trim_blocks, lstrip_blocks); every message's
# content is stripped of outer whitespace, as the released template does.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}"
    "{{ '[SYS]\\n' ~ (message['content'] | trim) ~ '\\n[/SYS]\\n\\n' }}"
    "{%- elif message['role'] == 'user' -%}"
    "{{ '[Question]\\n' ~ (message['content'] | trim) ~ '\\n[/Question]\\n\\n' }}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{{ '[Answer]\\n' ~ (message['content'] | trim) ~ '\\n[/Answer]\\n\\n' }}"
    "{%- else -%}"
    "{{ raise_exception('Unknown chat role ' ~ message['role'] ~ '; use system, user or assistant.') }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt and (messages | length == 0 or messages[-1]['role'] != 'assistant') -%}"
    "{{ '[Answer]\\n' }}"
    "{%- endif -%}"
)
CHAT_TAGS = ("[SYS]", "[/SYS]", "[Question]", "[/Question]", "[Answer]", "[/Answer]")
END_OF_ANSWER = "[/Answer]"
"""The text that ends an assistant turn; the sampler and `chat` stop there."""


def prepare_tokenizer(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """Make a masked LM's tokenizer ready for diffusion SFT and sampling (in place).

    - a mask token is required (the sampler's canvas is made of it): raises if absent;
    - EOS: kept if set, otherwise the pad token, as the reference recipe trains padding as EOS;
    - padding on the right (answers are padded after their end-of-answer tag);
    - a tokenizer without a chat template gets :data:`CHAT_TEMPLATE`; one with a template keeps it.

    >>> from transformers import AutoTokenizer
    >>> from dlm_kit.backbones import minilm_path
    >>> tok = prepare_tokenizer(AutoTokenizer.from_pretrained(minilm_path()))
    >>> tok.eos_token, tok.padding_side
    ('[PAD]', 'right')
    """
    if tokenizer.mask_token_id is None:
        raise ValueError(
            f"Tokenizer {type(tokenizer).__name__} ({tokenizer.name_or_path!r}) has no mask token; "
            "masked diffusion needs one. Use a masked-LM tokenizer (BERT, RoBERTa, ModernBERT) or "
            "add one: tokenizer.add_special_tokens({'mask_token': '[MASK]'}) and resize the "
            "model's embeddings."
        )
    if tokenizer.pad_token_id is None:
        raise ValueError(
            f"Tokenizer {tokenizer.name_or_path!r} has no pad token; batches need one. Set it, "
            "e.g. tokenizer.pad_token = tokenizer.eos_token."
        )
    if tokenizer.eos_token_id is None:
        # The reference recipe (dllm) labels padding with the pad id and calls it EOS.
        tokenizer.eos_token = tokenizer.pad_token
    tokenizer.padding_side = "right"
    if not tokenizer.chat_template:
        tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def add_chat_tag_tokens(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> int:
    """Make each chat tag one token of ``tokenizer`` and give it an embedding row (in place).

    An uncased WordPiece vocabulary (MiniLM, BERT) splits ``[/Answer]`` into ``[``, ``/``,
    ``answer``, ``]``: the end of an answer becomes a four-token phrase that a small model
    half-writes (``"milk [ / answer"``). As added tokens the tags are single tokens, matched
    case-sensitively before lower-casing, while the rendered chat text stays byte-identical
    (the released-format contract: the template is unchanged). Each new row starts as the mean of
    the embeddings of the pieces it replaced, so it begins near what the model read before.
    Returns the number of tags added (0 if the tokenizer already had them).

    >>> from dlm_kit.backbones import load_backbone
    >>> model, tok = load_backbone("minilm-random", seed=0)
    >>> add_chat_tag_tokens(model, tok), tok.tokenize("[Answer]\\nHi\\n[/Answer]")
    (6, ['[Answer]', 'hi', '[/Answer]'])
    >>> model.get_input_embeddings().weight.shape[0] == len(tok)
    True
    """
    from transformers import AddedToken

    missing = [tag for tag in CHAT_TAGS if tag not in tokenizer.get_vocab()]
    if not missing:
        return 0
    pieces = {tag: tokenizer(tag, add_special_tokens=False)["input_ids"] for tag in missing}
    tokenizer.add_tokens([AddedToken(tag, normalized=False, special=False) for tag in missing])
    model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    weight = model.get_input_embeddings().weight
    with torch.no_grad():
        for tag, ids in pieces.items():
            weight[tokenizer.convert_tokens_to_ids(tag)] = weight[ids].mean(dim=0)
    sync_special_ids(model, tokenizer)
    return len(missing)


def sync_special_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    """Record the tokenizer's mask, pad and EOS ids in ``model.config`` (in place), so a saved model is self-describing."""
    model.config.mask_token_id = tokenizer.mask_token_id
    model.config.pad_token_id = tokenizer.pad_token_id
    model.config.eos_token_id = tokenizer.eos_token_id


def build_prompt(tokenizer: PreTrainedTokenizerBase, conversation: str | Sequence[dict]) -> list[int]:
    """Token ids of a question (str) or a message list, ending with the generation prompt."""
    messages = [{"role": "user", "content": conversation}] if isinstance(conversation, str) else list(conversation)
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


# A chat tag a model half-wrote, as an uncased tokenizer decodes it: "[ / answer", "[ question ]",
# or a bare "[" / "[ /" at the very end. Everything from there on is debris, not answer.
_TAG_FRAGMENT = re.compile(r"\[\s*/|\[\s*(?:sys|question|answer)\b|\[\s*$", re.IGNORECASE)


def trim_answer(new_tokens: Sequence[int], tokenizer: PreTrainedTokenizerBase) -> str:
    """Decode generated ids up to the end-of-answer tag or the first EOS, whichever comes first.

    A tag the model only half-wrote (``[ / answer``, possible where the tags are several tokens)
    ends the answer too, so no tag fragment is ever shown.

    >>> from dlm_kit.backbones import build_tiny_tokenizer
    >>> tok = build_tiny_tokenizer()
    >>> trim_answer(tok("a b c [/Answer] junk")["input_ids"], tok)
    'a b c'
    """
    ids = list(new_tokens)
    end = len(ids)
    if tokenizer.eos_token_id in ids:
        end = ids.index(tokenizer.eos_token_id)
    tag_start = find_end_of_answer(ids, tokenizer, end=end)
    if tag_start is not None:
        end = tag_start
    return strip_tag_fragment(tokenizer.decode(ids[:end], skip_special_tokens=True))


def strip_tag_fragment(text: str) -> str:
    """Cut ``text`` where a half-written chat tag starts; strip the outer whitespace.

    >>> strip_tag_fragment("milk, milk [ / answer")
    'milk, milk'
    >>> strip_tag_fragment("the sea is blue. [ question ] why")
    'the sea is blue.'
    >>> strip_tag_fragment("a list [1, 2] stays")
    'a list [1, 2] stays'
    """
    fragment = _TAG_FRAGMENT.search(text)
    return (text[: fragment.start()] if fragment else text).strip()


def is_clean_answer(text: str) -> bool:
    """Whether a reply reads as an answer: at least 3 words, no chat-tag fragment (what
    :func:`strip_tag_fragment` would cut, or a stray ``]``), not empty. The "clean" rate of the
    kit's chat evaluations (``scripts/eval_chat_bars.py``, notebooks 01 and 03).

    >>> is_clean_answer("Cats are small pets."), is_clean_answer("milk, milk [ / answer"), is_clean_answer("yes")
    (True, False, False)
    """
    return len(re.findall(r"[A-Za-z0-9']+", text)) >= 3 and strip_tag_fragment(text) == text.strip() and "]" not in text


def find_end_of_answer(ids: Sequence[int], tokenizer: PreTrainedTokenizerBase, *, end: int | None = None) -> int | None:
    """Where the first complete end-of-answer tag starts in ``ids[:end]``; None if there is none.

    >>> from dlm_kit.backbones import build_tiny_tokenizer
    >>> tok = build_tiny_tokenizer()
    >>> ids = tok("a b [/Answer] c")["input_ids"]
    >>> find_end_of_answer(ids, tok), find_end_of_answer(ids, tok, end=2)
    (2, None)
    """
    ids = list(ids)
    tag = answer_stop_sequences(tokenizer)[0]
    stop = len(ids) if end is None else end
    for start in range(stop - len(tag) + 1):
        if ids[start : start + len(tag)] == tag:
            return start
    return None


def answer_stop_sequences(tokenizer: PreTrainedTokenizerBase) -> list[list[int]]:
    """The end-of-answer tag's token ids, as `generate(stop_sequences=...)` takes them.

    A chat model ends its answer with ``[/Answer]`` and fills the rest with EOS; stopping at the
    tag (not only at EOS) ends a row as soon as its answer is fixed.

    >>> from dlm_kit.backbones import build_tiny_tokenizer
    >>> len(answer_stop_sequences(build_tiny_tokenizer())[0])  # one token in the tiny vocabulary
    1
    """
    return [tokenizer(END_OF_ANSWER, add_special_tokens=False)["input_ids"]]


def generation_prompt_suffix(tokenizer: PreTrainedTokenizerBase) -> str | None:
    """The last word the chat template writes after a user turn (e.g. ``[Answer]``), or None.

    A prompt built by the template ends with it, so it tells a templated prompt from a raw one.
    None when the template writes nothing after the user's text, or there is no template.

    >>> from dlm_kit.backbones import build_tiny_tokenizer
    >>> generation_prompt_suffix(build_tiny_tokenizer())
    '[Answer]'
    """
    probe = "dlm-kit-probe"
    if not getattr(tokenizer, "chat_template", None):
        return None
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": probe}], add_generation_prompt=True, tokenize=False)
    after = prompt[prompt.rindex(probe) + len(probe) :].split() if probe in prompt else []
    return after[-1] if after else None
