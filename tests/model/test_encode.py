"""Encoding texts and pairs, and the training over-long policies: under truncate-prompt the
prompt is cut from the left (after [CLS]/BOS), never the response, by the same number of
tokens on both sides; pairs that cannot fit are dropped and counted, or stop the run with
file:line. (The scoring rule, truncate, is tested in test_overlong.py.)"""

import numpy as np
import pytest
from transformers import AutoTokenizer

from rewardkit.data import read_pairs
from rewardkit.data.records import PreferencePair
from rewardkit.errors import UserError
from rewardkit.model import TextTemplate
from rewardkit.model.encode import TextEncoder
from rewardkit.model.overlong import ResponseTooLongError

PROMPT = "a b c d e f g h"  # 8 one-token words in the MiniLM vocabulary


@pytest.fixture(scope="module")
def bert_tokenizer(tiny_bert_dir):
    return AutoTokenizer.from_pretrained(tiny_bert_dir)


def bert_encoder(tokenizer, max_length):
    return TextEncoder(tokenizer, TextTemplate(), max_length)


def tokens(tokenizer, ids):
    return tokenizer.convert_ids_to_tokens([int(i) for i in ids])


def test_text_is_encoded_with_cls_and_sep(bert_tokenizer):
    """ "a b c d e f g h x y" → [CLS] a … h x y [SEP]; the prompt region is a..h (1..9)."""
    enc = bert_encoder(bert_tokenizer, 64).encode_text(PROMPT, "x y")
    assert tokens(bert_tokenizer, enc.ids) == ["[CLS]", *"abcdefgh", "x", "y", "[SEP]"]
    assert (enc.prompt_start, enc.prompt_end) == (1, 9)


def test_truncate_prompt_cuts_the_prompt_from_the_left_by_the_same_amount(bert_tokenizer):
    """chosen "x y" is 12 tokens, rejected "x y z" 13; max_length 8 → cut = 13 − 8 = 5 prompt
    tokens (a..e) from both: [CLS] f g h x y [SEP] (7) and [CLS] f g h x y z [SEP] (8)."""
    pair = PreferencePair(PROMPT, "x y", "x y z", margin=0.5, weight=0.25)
    (encoded,), report = bert_encoder(bert_tokenizer, 8).encode_pairs([pair], "truncate-prompt")
    assert tokens(bert_tokenizer, encoded.chosen_ids) == ["[CLS]", "f", "g", "h", "x", "y", "[SEP]"]
    assert tokens(bert_tokenizer, encoded.rejected_ids) == [
        "[CLS]",
        "f",
        "g",
        "h",
        "x",
        "y",
        "z",
        "[SEP]",
    ]
    assert encoded.truncated and (encoded.margin, encoded.weight, encoded.tie) == (0.5, 0.25, False)
    assert report.to_dict() == {
        "pairs": 1,
        "kept": 1,
        "truncated": 1,
        "response_truncated": 0,
        "dropped_overlong": 0,
        "dropped_response_too_long": 0,
    }


def test_a_response_alone_too_long_is_dropped_and_counted_separately(bert_tokenizer):
    """prompt "a b" (2 tokens of room) + rejected of 8 tokens = 12 tokens; max_length 8 needs a
    cut of 4 > 2, so the pair is dropped as 'response too long', not truncated."""
    pair = PreferencePair("a b", "x", "c d e f g h i j", source="data.jsonl:7")
    encoded, report = bert_encoder(bert_tokenizer, 8).encode_pairs([pair], "truncate-prompt")
    assert encoded == []
    assert report.dropped_response_too_long == 1 and report.truncated == 0
    assert report.dropped_overlong == 0 and report.n_kept == 0
    assert report.examples == {"dropped_response_too_long": ["data.jsonl:7"]}


def test_drop_policy_drops_every_over_long_pair(bert_tokenizer):
    """With --overlong drop, the pair that truncate-prompt would cut (13 > 8 tokens) is dropped
    and counted as dropped_overlong; the one that fits (6 tokens) is kept unchanged."""
    pairs = [PreferencePair(PROMPT, "x y", "x y z"), PreferencePair("a b", "x", "y z")]
    encoded, report = bert_encoder(bert_tokenizer, 8).encode_pairs(pairs, overlong="drop")
    assert [e.index for e in encoded] == [1]
    assert not encoded[0].truncated
    assert tokens(bert_tokenizer, encoded[0].rejected_ids) == ["[CLS]", "a", "b", "y", "z", "[SEP]"]
    assert report.to_dict() == {
        "pairs": 2,
        "kept": 1,
        "truncated": 0,
        "response_truncated": 0,
        "dropped_overlong": 1,
        "dropped_response_too_long": 0,
    }


def test_error_policy_names_the_file_and_line(bert_tokenizer, write_preferences):
    """--overlong error: the first over-long pair (line 2 of the file) is a one-line UserError
    starting with file:2."""
    path = write_preferences(
        [
            {"prompt": "a", "chosen": "x", "rejected": "y"},
            {"prompt": PROMPT, "chosen": "x y", "rejected": "x y z"},
        ]
    )
    pairs, _ = read_pairs(path)
    with pytest.raises(UserError) as err:
        bert_encoder(bert_tokenizer, 8).encode_pairs(pairs, overlong="error")
    assert str(err.value).startswith(f"{path}:2: pair is 13 tokens, over --max-length 8")
    assert "\n" not in str(err.value)


def test_unknown_policy_is_a_user_error(bert_tokenizer):
    with pytest.raises(UserError, match="--overlong 'cut'"):
        bert_encoder(bert_tokenizer, 8).encode_pairs([], overlong="cut")


def test_report_counts_a_mixed_list(bert_tokenizer):
    """[fits, needs a cut, response too long, fits] → 4 pairs, 3 kept (indices 0, 1, 3),
    1 truncated, 1 dropped; summary() says the same numbers."""
    pairs = [
        PreferencePair("a", "x", "y"),
        PreferencePair(PROMPT, "x y", "x y z"),
        PreferencePair("a b", "x", "c d e f g h i j"),
        PreferencePair("b", "z", "y"),
    ]
    encoded, report = bert_encoder(bert_tokenizer, 8).encode_pairs(pairs, "truncate-prompt")
    assert [e.index for e in encoded] == [0, 1, 3]
    assert [e.truncated for e in encoded] == [False, True, False]
    assert all(len(e.chosen_ids) <= 8 and len(e.rejected_ids) <= 8 for e in encoded)
    assert report.to_dict() == {
        "pairs": 4,
        "kept": 3,
        "truncated": 1,
        "response_truncated": 0,
        "dropped_overlong": 0,
        "dropped_response_too_long": 1,
    }
    assert report.summary(8) == (
        "4 pairs, max_length 8: 1 truncated (0 of them in a response), 1 dropped (a "
        "response alone is too long), 0 dropped (over-long, --overlong drop); 3 kept"
    )


def test_fit_texts_cuts_the_prompt_or_refuses_under_error(bert_tokenizer):
    """One text of 12 tokens, max_length 10 → a and b cut: [CLS] c … h x y [SEP]; a response
    of 9 tokens cannot fit 10 with [CLS]/[SEP] and a 1-token prompt → refused under
    --overlong error."""
    encoder = bert_encoder(bert_tokenizer, 10)
    (fitted,) = encoder.fit_texts([(PROMPT, "x y")])
    assert fitted.removed == 2
    assert tokens(bert_tokenizer, fitted.ids) == ["[CLS]", *"cdefgh", "x", "y", "[SEP]"]
    (fitted,) = encoder.fit_texts([("a", "x y")])
    assert (fitted.ids, fitted.removed) == (encoder.encode_text("a", "x y").ids, 0)
    with pytest.raises(ResponseTooLongError, match="response 0 alone"):
        encoder.fit_texts([("a", "b c d e f g h i j")], "error")


def test_chat_prompt_is_cut_from_the_left_of_the_transcript(bert_tokenizer):
    """Default template, BERT: "\\n\\nHuman: a b c d e f g h\\n\\nAssistant: x y" is
    [CLS] human : a … h assistant : x y [SEP] (16 tokens); max_length 10 drops the first 6
    prompt tokens (human : a b c d), the response and [CLS]/[SEP] stay."""
    encoder = bert_encoder(bert_tokenizer, 10)
    prompt = [{"role": "user", "content": PROMPT}]
    full = encoder.encode_text(prompt, "x y")
    assert tokens(bert_tokenizer, full.ids) == [
        "[CLS]",
        "human",
        ":",
        *"abcdefgh",
        "assistant",
        ":",
        "x",
        "y",
        "[SEP]",
    ]
    ids = encoder.fit_texts([(prompt, "x y")])[0].ids
    assert tokens(bert_tokenizer, ids) == [
        "[CLS]",
        "e",
        "f",
        "g",
        "h",
        "assistant",
        ":",
        "x",
        "y",
        "[SEP]",
    ]


@pytest.fixture(scope="module")
def llama_chat_tokenizer(tiny_llama_chat_dir):
    return AutoTokenizer.from_pretrained(tiny_llama_chat_dir)


def test_decoder_text_keeps_bos_and_ends_with_eos(tiny_llama_dir):
    """Text prompt, decoder: <s> prompt response </s>; cut to 6 keeps <s>, the response and
    the appended </s>: <s> three four good yes </s>."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama_dir)
    encoder = TextEncoder(tokenizer, TextTemplate.for_tokenizer(tokenizer, is_decoder=True), 6)
    full = encoder.encode_text("one two three four", "good yes")
    assert tokens(tokenizer, full.ids) == [
        "<s>",
        "one",
        "two",
        "three",
        "four",
        "good",
        "yes",
        "</s>",
    ]
    ids = encoder.fit_texts([("one two three four", "good yes")])[0].ids
    assert tokens(tokenizer, ids) == ["<s>", "three", "four", "good", "yes", "</s>"]


def test_decoder_chat_template_bos_is_never_cut(llama_chat_tokenizer):
    """The backbone's own template writes "<s>" as text (add_special_tokens=False, so the
    tokenizer does not mark it special): "<s> user : one two three four </s> assistant : good
    yes </s>" (13 tokens). A cut of 3 must remove "user : one", not "<s>"."""
    tok = llama_chat_tokenizer
    encoder = TextEncoder(tok, TextTemplate.for_tokenizer(tok, is_decoder=True), 10)
    prompt = [{"role": "user", "content": "one two three four"}]
    full = encoder.encode_text(prompt, "good yes")
    assert tokens(tok, full.ids) == [
        "<s>",
        "user",
        ":",
        "one",
        "two",
        "three",
        "four",
        "</s>",
        "assistant",
        ":",
        "good",
        "yes",
        "</s>",
    ]
    assert full.prompt_start == 1 and full.prompt_end == 10
    ids = encoder.fit_texts([(prompt, "good yes")])[0].ids
    assert tokens(tok, ids) == [
        "<s>",
        "two",
        "three",
        "four",
        "</s>",
        "assistant",
        ":",
        "good",
        "yes",
        "</s>",
    ]
    (pair,), report = encoder.encode_pairs(
        [PreferencePair(prompt, "good yes", "no")], "truncate-prompt"
    )
    assert tokens(tok, pair.chosen_ids) == tokens(tok, ids)
    assert tokens(tok, pair.rejected_ids) == [
        "<s>",
        "two",
        "three",
        "four",
        "</s>",
        "assistant",
        ":",
        "no",
        "</s>",
    ]
    assert report.truncated == 1


def test_slow_tokenizers_are_refused():
    class Slow:
        is_fast = False

    with pytest.raises(UserError, match="fast"):
        TextEncoder(Slow(), TextTemplate(), 8)


def test_encoded_ids_are_int_arrays(bert_tokenizer):
    (encoded,), _ = bert_encoder(bert_tokenizer, 64).encode_pairs([PreferencePair("a", "x", "y")])
    assert encoded.chosen_ids.dtype == np.int32 and encoded.rejected_ids.dtype == np.int32


@pytest.mark.parametrize("which", ["bert", "llama-chat"])
def test_batched_encoding_equals_one_text_at_a_time(
    which, bert_tokenizer, llama_chat_tokenizer, monkeypatch
):
    """encode_texts/fit_texts/encode_pairs tokenize in batched chunks (here of 3, so items
    straddle chunks): every result equals encoding that text alone, text and chat prompts
    mixed (two add_special_tokens settings in one chunk for the chat template), over-long
    ones cut or refused the same way."""
    import rewardkit.model.encode as encode_module

    if which == "bert":
        tok, template = bert_tokenizer, TextTemplate()
    else:
        tok = llama_chat_tokenizer
        template = TextTemplate.for_tokenizer(tok, is_decoder=True)
    encoder = TextEncoder(tok, template, 9)
    chat = [{"role": "user", "content": "one two three"}]
    items = [
        (PROMPT, "x y"),
        (chat, "good yes"),
        ("a", "b"),
        (chat, "a b c d e f g h i j k"),
        (PROMPT + " " + PROMPT, "x"),
        ("", "y"),
        (chat, "no"),
    ]
    alone = [encoder.encode_text(p, r) for p, r in items]
    monkeypatch.setattr(encode_module, "TOKENIZE_CHUNK", 3)
    batched = encoder.encode_texts(items)
    assert [(e.ids, e.prompt_start, e.prompt_end) for e in batched] == [
        (e.ids, e.prompt_start, e.prompt_end) for e in alone
    ]
    singles = encoder.fit_texts(items)
    for (prompt, response), fitted in zip(items, singles):
        assert fitted == encoder.fit_texts([(prompt, response)])[0]
    assert singles[3].removed > 0  # the 11-word response alone does not fit in 9: cut
    pairs = [PreferencePair(p, r, "x") for p, r in items]
    got, report = encoder.encode_pairs(pairs, "truncate-prompt")
    monkeypatch.setattr(encode_module, "TOKENIZE_CHUNK", 1024)
    want, want_report = encoder.encode_pairs(pairs, "truncate-prompt")
    assert [(g.index, g.chosen_ids.tolist(), g.rejected_ids.tolist()) for g in got] == [
        (w.index, w.chosen_ids.tolist(), w.rejected_ids.tolist()) for w in want
    ]
    assert report.to_dict() == want_report.to_dict()
