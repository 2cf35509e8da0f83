"""The Korean BPE tokenizer of the smoke candidates and the chat template every candidate uses.

Real Korean checkpoints ship their own tokenizers; the tiny stand-ins need one that knows Hangul,
so a byte-level BPE is trained with ``tokenizers`` on the prepared corpus. Byte level means no input
is ever unknown (any Hangul syllable falls back to its three UTF-8 bytes), and the merges learn the
syllables and particles that actually occur.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from callbot.atomic import replace_dir

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from callbot.llm.params import TokenizerParams

EOS = "<|end|>"
PAD = "<|pad|>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")

# One template for all candidates: role markers, the content, end-of-turn. With the tiny tokenizer the
# markers are single special tokens; a real checkpoint's tokenizer reads them as plain text.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}{{ eos_token }}"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)

# Enough Korean for a usable tokenizer when a test or the serve stage needs a model without data.
STARTER_TEXTS = (
    "안녕하세요. 질병관리청 1339 콜센터입니다. 무엇을 도와드릴까요?",
    "코로나19 예방접종은 가까운 위탁의료기관에서 받으실 수 있습니다.",
    "발열이나 기침 증상이 있으면 선별진료소를 방문해 검사를 받으세요.",
    "해외 입국 후 증상이 있으면 보건소에 먼저 연락해 주시기 바랍니다.",
    "상담원에게 연결해 드리겠습니다. 잠시만 기다려 주세요.",
    "저는 고객의 입장에서 생각하며 꼼꼼하게 일하는 사람입니다.",
)


def train_tokenizer(texts: Iterable[str], out_dir: Path, params: TokenizerParams) -> Path:
    """Train the byte-level Korean BPE on ``texts`` and save it (with the chat template) to ``out_dir``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = [t for t in texts if t and t.strip()]
    if not corpus:
        raise ValueError(f"{out_dir}: no texts to train the tokenizer on; is the prepared llm dataset empty?")
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=params.vocab_size,
        min_frequency=params.min_frequency,
        special_tokens=[PAD, EOS, *ROLE_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(corpus, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token=EOS,
        bos_token=EOS,
        pad_token=PAD,
        additional_special_tokens=list(ROLE_TOKENS),
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    tokenizer.save_pretrained(tmp)
    replace_dir(tmp, out_dir)
    return out_dir


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerBase:
    """A candidate's tokenizer, with the chat template and a pad token guaranteed."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    if tokenizer.chat_template is None:
        # a real base without a template (Gemma 3 270M is not instruction-tuned) gets ours; one with a
        # beginning-of-text token of its own was pretrained with it in front of every document
        has_bos = tokenizer.bos_token is not None and tokenizer.bos_token != tokenizer.eos_token
        tokenizer.chat_template = ("{{ bos_token }}" if has_bos else "") + CHAT_TEMPLATE
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer
