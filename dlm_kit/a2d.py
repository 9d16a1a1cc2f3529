"""From autoregressive to diffusion: read a causal LM (Llama / SmolLM2, GPT-2, Qwen) as a masked diffusion LM.

A causal LM predicts token i+1 at position i, attending only to positions <= i. Three changes
make it something the kit's sampler, training and likelihood can use (dLLM's "A2D"; DiffuLLaMA
and BD3LM for the shift and the blocks):

1. **Attention.** Fully bidirectional (MDLM: every position sees every other, padding hidden) or
   *block-causal* with ``block_size`` b: position i sees position j when ``j // b <= i // b``, so
   a block sees itself and every block before it (BD3LM). ``block_size=1`` is the causal mask again.
2. **A mask token.** The causal LM never needed one: :func:`add_mask_token` adds ``<|mask|>`` as a
   new token whose embedding starts at the mean of the others (an unused id would do too, but a
   new row is the same for every tokenizer and cannot collide with a token some prompt contains).
3. **The shift (optional).** With ``shift=True`` the prediction for position i is read from the
   output at position i-1, as the causal LM was trained (DiffuLLaMA keeps this alignment); with
   ``shift=False`` each position predicts itself, as a BERT does (dLLM's MDLM path).

The invariant the conversion keeps, before any training: with ``block_size=1`` and the shift,
the kit's sampler writing one token per step in blocks of one writes exactly the causal LM's own
greedy tokens (``tests/test_a2d.py``).

    >>> import torch
    >>> from transformers import LlamaConfig, LlamaForCausalLM
    >>> _ = torch.manual_seed(0)
    >>> llama = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64,
    ...                          num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2)).eval()
    >>> model = CausalToDiffusion(llama, mask_token_id=63, block_size=1, shift=True)
    >>> model(input_ids=torch.tensor([[5, 6, 7]])).logits.shape
    torch.Size([1, 3, 64])
    >>> diffusion_attention_mask(4, block_size=2).int()[0, 0]
    tensor([[1, 1, 0, 0],
            [1, 1, 0, 0],
            [1, 1, 1, 1],
            [1, 1, 1, 1]], dtype=torch.int32)
"""

from __future__ import annotations

import inspect

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase
from transformers.modeling_outputs import MaskedLMOutput

from .data import IGNORE_INDEX

__all__ = ["MASK_TOKEN", "CausalToDiffusion", "CommittedBlockCache", "add_mask_token", "block_ids", "clean_context",
           "diffusion_attention_mask"]

MASK_TOKEN = "<|mask|>"


def block_ids(length: int, block_size: int, prompt_lengths: torch.Tensor | None = None,
              device: torch.device | str | None = None) -> torch.Tensor:
    """[B, L] long: the block of each position, counted from each row's answer start (prompt tokens
    each their own block, numbered below 0), or from position 0 without ``prompt_lengths``.

    >>> block_ids(6, 2, torch.tensor([2])).tolist()
    [[-2, -1, 0, 0, 1, 1]]
    """
    starts = torch.zeros(1, dtype=torch.long, device=device) if prompt_lengths is None else prompt_lengths.to(device)
    offsets = torch.arange(length, device=device)[None, :] - starts[:, None]  # [B, L]: < 0 in the prompt
    return torch.where(offsets < 0, offsets, offsets.div(block_size, rounding_mode="floor"))


def diffusion_attention_mask(
    length: int, *, block_size: int | None = None, padding_mask: torch.Tensor | None = None,
    prompt_lengths: torch.Tensor | None = None, device: torch.device | str | None = None,
) -> torch.Tensor:
    """Bool [B, 1, L, L] (B = 1 without ``padding_mask`` or ``prompt_lengths``): may query position i attend to key j?

    ``block_size=None``: bidirectional. ``b``: block-causal, ``j`` visible when its block is not
    after ``i``'s. Blocks count from position 0, or with ``prompt_lengths`` [B] from each row's
    answer start, the prompt causal (each prompt token its own block), so the model's blocks are
    the sampler's (it fills blocks of the answer, counted from its first token). ``padding_mask``
    [B, L] (1 = real token) hides padded keys; a padded query keeps itself, so no row is all-masked.

    >>> diffusion_attention_mask(5, block_size=2, prompt_lengths=torch.tensor([1])).int()[0, 0]
    tensor([[1, 0, 0, 0, 0],
            [1, 1, 1, 0, 0],
            [1, 1, 1, 0, 0],
            [1, 1, 1, 1, 1],
            [1, 1, 1, 1, 1]], dtype=torch.int32)
    """
    if block_size is not None and block_size < 1:
        raise ValueError(f"block_size={block_size}: use a positive block size, or None for bidirectional attention.")
    if block_size is None:
        allowed = torch.ones(1, length, length, dtype=torch.bool, device=device)
    else:
        blocks = block_ids(length, block_size, prompt_lengths, device)
        allowed = blocks[:, None, :] <= blocks[:, :, None]  # [B, query, key]
    allowed = allowed[:, None]
    if padding_mask is not None:
        keys = padding_mask.to(device=allowed.device, dtype=torch.bool)[:, None, None, :]
        allowed = (allowed & keys) | torch.eye(length, dtype=torch.bool, device=allowed.device)
    return allowed


def _additive(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A bool mask (True = may attend) as the additive float mask Hugging Face's attention takes."""
    return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill(~allowed, torch.finfo(dtype).min)


class CausalToDiffusion(torch.nn.Module):
    """A causal LM behind a masked LM's interface: ``model(input_ids=, attention_mask=).logits`` [B, L, V].

    Args:
        causal_lm: a Hugging Face causal LM whose attention takes a 4-D mask (Llama, Qwen2/3, GPT-2).
        mask_token_id: the id the canvas is masked with (:func:`add_mask_token`); stored in the config.
        block_size: None for bidirectional attention, else block-causal blocks of this many tokens.
        shift: read the prediction for position i from position i-1 (the causal LM's own alignment).
    """

    def __init__(self, causal_lm: PreTrainedModel, *, mask_token_id: int, block_size: int | None = None, shift: bool = True) -> None:
        super().__init__()
        if not 0 <= mask_token_id < causal_lm.get_input_embeddings().num_embeddings:
            raise ValueError(f"mask_token_id={mask_token_id} is outside the model's embeddings; call add_mask_token first.")
        diffusion_attention_mask(1, block_size=block_size)  # a bad block size is refused here
        self.causal_lm, self.block_size, self.shift = causal_lm, block_size, shift
        self.config = causal_lm.config
        self.config.mask_token_id = mask_token_id
        self.train(causal_lm.training)  # a new Module starts in training mode; follow the wrapped model

    def get_input_embeddings(self) -> torch.nn.Module:
        """The causal LM's token embeddings."""
        return self.causal_lm.get_input_embeddings()

    #: the sampler passes ``prompt_lengths`` to a model that says it reads them, and the trainer
    #: ``clean_input_ids`` too when the model is block-causal (:meth:`_with_clean_context`)
    reads_prompt_lengths = True

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None, prompt_lengths: torch.Tensor | None = None,
                clean_input_ids: torch.Tensor | None = None) -> MaskedLMOutput:
        """Logits [B, L, V]: for each position, the model's prediction of the token there.

        ``attention_mask`` [B, L]: 1 on real tokens (the kit's canvas is right-padded, so
        positions count from 0 in every row unless ``position_ids`` say otherwise).
        ``prompt_lengths`` [B]: where each row's answer starts, so block-causal blocks are counted
        from there (the sampler passes them); None counts blocks from position 0.
        ``clean_input_ids`` [B, L] (training a block-causal model): the uncorrupted sequence, so
        that every noisy block is predicted from the *clean* blocks before it, as the sampler
        predicts it from committed ones (:meth:`_with_clean_context`).
        """
        if clean_input_ids is not None:
            return self._with_clean_context(input_ids, clean_input_ids, attention_mask, prompt_lengths)
        batch, length = input_ids.shape
        allowed = diffusion_attention_mask(length, block_size=self.block_size, padding_mask=attention_mask,
                                           prompt_lengths=prompt_lengths,
                                           device=input_ids.device).expand(batch, 1, length, length)
        additive = _additive(allowed, self.get_input_embeddings().weight.dtype)
        if position_ids is None:
            position_ids = torch.arange(length, device=input_ids.device).expand(batch, length)
        logits = self.causal_lm(input_ids=input_ids, attention_mask=additive, position_ids=position_ids, use_cache=False).logits
        if self.shift:  # position i's token was predicted at i - 1; position 0 has no prediction (never a target)
            logits = torch.cat([logits[:, :1], logits[:, :-1]], dim=1)
        return MaskedLMOutput(logits=self.never_the_mask(logits))

    def never_the_mask(self, logits: torch.Tensor) -> torch.Tensor:
        """``logits`` with the mask token's set to the lowest value: it is never a prediction (MDLM's SUBS).

        The confidences the sampler ranks are then over real tokens, and an output row tied to the
        mask's input embedding (which fine-tuning moves) changes nothing.
        """
        mask = torch.tensor([self.config.mask_token_id], device=logits.device)
        return logits.index_fill(-1, mask, torch.finfo(logits.dtype).min)

    def _with_clean_context(self, noisy: torch.Tensor, clean: torch.Tensor, attention_mask: torch.Tensor | None,
                            prompt_lengths: torch.Tensor | None) -> MaskedLMOutput:
        """BD3LM's training forward: the noisy and the clean sequence side by side, [B, 2L], one pass.

        A noisy block attends to itself and to the clean blocks before it; the clean copy attends
        block-causally to itself, never to the noisy one; both copies carry the same positions. The
        logits of the noisy copy are what the sampler would compute for each block with every block
        before it committed (tested). With the shift, a block's first token is read from the clean
        copy's last token before the block, as the sampler reads it from the committed one.
        """
        if self.block_size is None:
            raise ValueError("clean_input_ids is for block-causal training; a bidirectional conversion "
                             "(block_size=None) trains on the noisy sequence alone.")
        batch, length = noisy.shape
        blocks = block_ids(length, self.block_size, prompt_lengths, noisy.device).expand(batch, length)
        query, key = blocks[:, :, None], blocks[:, None, :]
        allowed = torch.cat([torch.cat([key == query, key < query], dim=2),  # noisy queries: own block, clean before
                             torch.cat([torch.zeros_like(key == query), key <= query], dim=2)], dim=1)[:, None]
        if attention_mask is not None:
            real = attention_mask.to(torch.bool).repeat(1, 2)
            allowed = (allowed & real[:, None, None, :]) | torch.eye(2 * length, dtype=torch.bool, device=noisy.device)
        positions = torch.arange(length, device=noisy.device).repeat(2).expand(batch, 2 * length)
        hidden = self.causal_lm.base_model(input_ids=torch.cat([noisy, clean], dim=1), position_ids=positions, use_cache=False,
                                           attention_mask=_additive(allowed, self.get_input_embeddings().weight.dtype))[0]
        hidden, clean_hidden = hidden[:, :length], hidden[:, length:]
        if self.shift:  # position i from i - 1: inside a block the noisy copy's, across a block boundary the clean one's
            same_block = torch.cat([torch.zeros_like(blocks[:, :1], dtype=torch.bool), blocks[:, 1:] == blocks[:, :-1]], 1)
            from_noisy = torch.cat([hidden[:, :1], hidden[:, :-1]], dim=1)
            from_clean = torch.cat([clean_hidden[:, :1], clean_hidden[:, :-1]], dim=1)
            hidden = torch.where(same_block[..., None], from_noisy, from_clean)
        # the output layer on the L positions that are predicted, not on all 2L (it is a fifth of SmolLM2's compute)
        return MaskedLMOutput(logits=self.never_the_mask(self.causal_lm.get_output_embeddings()(hidden)))


def clean_context(model: torch.nn.Module, input_ids: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """What a training step passes a block-causal :class:`CausalToDiffusion` besides the noisy ids; ``{}`` for any other model.

    ``clean_input_ids`` (each noisy block predicted from the clean blocks before it) and
    ``prompt_lengths`` (blocks counted from the answer; the prompt is the labels' leading -100s).

    >>> clean_context(torch.nn.Linear(1, 1), torch.tensor([[5, 6]]), torch.tensor([[-100, 6]]))
    {}
    """
    if not (getattr(model, "reads_prompt_lengths", False) and getattr(model, "block_size", None)):
        return {}
    return {"clean_input_ids": input_ids, "prompt_lengths": (labels == IGNORE_INDEX).long().cumprod(1).sum(1)}


def add_mask_token(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> int:
    """The tokenizer's mask token id, adding :data:`MASK_TOKEN` (embedding row = the mean of the others) if it has none.

    The model's embeddings grow by the added row; returns the mask id.
    """
    if tokenizer.mask_token_id is not None:
        return tokenizer.mask_token_id
    tokenizer.add_special_tokens({"mask_token": MASK_TOKEN})
    old_rows = model.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > old_rows:
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        weight = model.get_input_embeddings().weight
        with torch.no_grad():  # exactly the mean (transformers' mean_resizing samples around it)
            weight[old_rows:] = weight[:old_rows].mean(dim=0)
    return tokenizer.mask_token_id


class CommittedBlockCache:
    """The exact key-value cache of a block-causal canvas: the prompt and the committed blocks, each computed once.

    With blocks counted from the answer start (:func:`diffusion_attention_mask` with ``prompt_lengths``),
    nothing before a block attends to it, so the keys and values of everything before it are final
    when the block starts (BD3LM's cache). Built once from the canvas (the prompt); each step then
    runs only the block being written, attending to the cache, and gives the full forward's logits
    there (the same tokens in float64, tested); when the block is done, :meth:`advance` appends its
    keys and values with one forward of that block alone (as a KV-cached causal LM appends a token),
    so no prefix is computed twice. The sampler uses it with ``cache="blocks"``.

    Rows may have different prompt lengths, so the cache is laid out by canvas column: row r's
    committed part is its columns before ``starts[r]``; the columns after it hold keys nobody
    attends to (the attention mask hides them) until its blocks are written there.

    Args:
        model: a block-causal :class:`CausalToDiffusion`.
        x: the canvas [R, L] when the block starts.
        prompt_lengths: [R] each row's prompt length.
        starts: [R] the first column of each row's current block.
        block_size: the sampler's block size, a multiple of the model's (so no model block straddles two).
        attention_mask: [R, L] 1 on real tokens, or None.
    """

    def __init__(self, model: CausalToDiffusion, x: torch.Tensor, *, prompt_lengths: torch.Tensor, starts: torch.Tensor,
                 block_size: int, attention_mask: torch.Tensor | None = None) -> None:
        if model.block_size is None or block_size % model.block_size:
            raise ValueError(f"cache='blocks' needs a block-causal model whose block size ({model.block_size}) divides the "
                             f"sampler's block_size={block_size}; convert with block_size={block_size} (or a divisor).")
        self.model, self.block_size = model, block_size
        self.width = int(starts.max())  # columns cached: every row's committed part fits
        base, self.dtype = model.causal_lm.base_model, model.get_input_embeddings().weight.dtype
        allowed = diffusion_attention_mask(self.width, block_size=model.block_size, prompt_lengths=prompt_lengths,
                                           padding_mask=None if attention_mask is None else attention_mask[:, :self.width],
                                           device=x.device).expand(len(x), 1, self.width, self.width)
        positions = torch.arange(self.width, device=x.device).expand(len(x), self.width)
        out = base(input_ids=x[:, :self.width], attention_mask=_additive(allowed, self.dtype), position_ids=positions,
                   use_cache=True)
        self.past = getattr(out, "cache", None) or out.past_key_values
        # Hugging Face renamed the forward's `past_key_values` to `cache` within 5.x: use the model's own name
        self.cache_keyword = "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"
        rows = torch.arange(len(x), device=x.device)
        self._at_block(x, starts, out.last_hidden_state[rows, starts - 1])

    def _at_block(self, x: torch.Tensor, starts: torch.Tensor, before: torch.Tensor) -> None:
        """What every step of the block starting at ``starts`` [R] shares; ``before`` [R, H]: the hidden state of
        each row's column before it (with the shift, the block's first token is predicted there: a committed one)."""
        self.starts, self.prefix = starts, x[:, :self.width].clone()
        self.first = self.model.causal_lm.get_output_embeddings()(before)  # [R, V]
        self.committed = torch.arange(self.width, device=x.device)[None, :] < starts[:, None]  # [R, T]
        self.columns = starts[:, None] + torch.arange(self.block_size, device=x.device)  # [R, b]
        # the block's attention mask: the committed cache, then the model's blocks inside the sampler's
        inner = torch.arange(self.block_size, device=x.device) // self.model.block_size
        allowed = torch.cat([self.committed[:, None, :].expand(-1, self.block_size, -1),
                             (inner[None, :] <= inner[:, None]).expand(len(x), self.block_size, self.block_size)], dim=2)
        self.block_mask = _additive(allowed[:, None], self.dtype)

    def still_valid(self, x: torch.Tensor) -> bool:
        """Is every committed token as it was when the cache was built?"""
        return bool(((x[:, :self.width] == self.prefix) | ~self.committed).all())

    def _block_forward(self, x: torch.Tensor):
        return self.model.causal_lm.base_model(input_ids=x.gather(1, self.columns), attention_mask=self.block_mask,
                                               position_ids=self.columns, use_cache=True, **{self.cache_keyword: self.past})

    def block_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits [R, b, V] of the current block's positions, their canvas columns [R, b])."""
        out = self._block_forward(x)
        self.past.crop(-self.block_size)  # the block is not committed yet: drop its keys and values again
        logits = self.model.causal_lm.get_output_embeddings()(out.last_hidden_state)
        if self.model.shift:
            logits = torch.cat([self.first[:, None], logits[:, :-1]], dim=1)
        return self.model.never_the_mask(logits), self.columns

    def advance(self, x: torch.Tensor) -> None:
        """The current block is written in ``x``: commit it (one forward of the block) and move to the next.

        The forward appends the block's keys and values after the cache's last column; each row's
        belong at its own block's columns, so they are moved there (for the row with the longest
        prompt that is where they already are)."""
        b, old_width = self.block_size, self.width
        out = self._block_forward(x)
        self.width += b  # every row moves on by one block, the longest prompt's row too
        at = (self.starts[:, None] + torch.arange(b, device=x.device))[:, None, :, None]  # [R, 1, b, 1]
        for layer in _cache_layers(self.past):
            for name in ("keys", "values"):
                kv = getattr(layer, name)  # [R, heads, old_width + b, head_dim]
                setattr(layer, name, kv.scatter(2, at.expand(-1, kv.shape[1], -1, kv.shape[3]), kv[:, :, old_width:]))
        self._at_block(x, self.starts + b, out.last_hidden_state[:, -1])

    def keep_rows(self, kept: torch.Tensor) -> None:
        """Only the rows ``kept`` (indices) go on: the others leave the cache too."""
        self.past.batch_select_indices(kept)
        self.starts, self.prefix, self.first = self.starts[kept], self.prefix[kept], self.first[kept]
        self.committed, self.columns, self.block_mask = self.committed[kept], self.columns[kept], self.block_mask[kept]


def _cache_layers(past) -> list:
    """The per-layer key/value holders of a Hugging Face cache (``.keys`` / ``.values`` [R, heads, T, head_dim])."""
    layers = getattr(getattr(past, "self_attention_cache", past), "layers", None)
    if layers is None:
        raise TypeError(f"{type(past).__name__}: cache='blocks' needs a transformers cache with per-layer keys and "
                        "values (transformers >= 5: DynamicCache).")
    return layers
