"""The over-length rule (rewardkit.model.overlong): an over-long text loses tokens from the left,
after [CLS]/BOS — the prompt first, then the start of a response that alone is too long —
never its end; each text is flagged with the tokens removed. The saved tokenizer reproduces
the cut: `tokenizer(text, truncation=True)` gives the same ids."""

import pytest
from transformers import AutoTokenizer

from rewardkit.data.records import PreferencePair
from rewardkit.errors import UserError
from rewardkit.model import RewardModel, TextTemplate
from rewardkit.model.encode import TextEncoder
from rewardkit.model.overlong import ResponseTooLongError

PROMPT = "a b c d e f g h"  # 8 one-token words in the MiniLM vocabulary


@pytest.fixture(scope="module")
def tokenizer(tiny_bert_dir):
    return AutoTokenizer.from_pretrained(tiny_bert_dir)


def encoder(tokenizer, max_length):
    return TextEncoder(tokenizer, TextTemplate(), max_length)


def tokens(tokenizer, ids):
    return tokenizer.convert_ids_to_tokens([int(i) for i in ids])


def test_a_text_that_fits_is_untouched(tokenizer):
    """[CLS] a … h x y [SEP] is 12 tokens: at max_length 12 nothing is cut."""
    (fitted,) = encoder(tokenizer, 12).fit_texts([(PROMPT, "x y")])
    assert tokens(tokenizer, fitted.ids) == ["[CLS]", *"abcdefgh", "x", "y", "[SEP]"]
    assert fitted.removed == 0 and not fitted.truncated


def test_the_prompt_goes_first_from_the_left(tokenizer):
    """12 tokens at max_length 8: 4 prompt tokens (a b c d) go."""
    (fitted,) = encoder(tokenizer, 8).fit_texts([(PROMPT, "x y")])
    assert tokens(tokenizer, fitted.ids) == ["[CLS]", "e", "f", "g", "h", "x", "y", "[SEP]"]
    assert fitted.removed == 4


def test_a_response_too_long_alone_loses_its_start(tokenizer):
    """Prompt "a" + response "b c d e f g h i j" = [CLS] a b … j [SEP] (12) at max_length 6:
    6 tokens go — the prompt's "a", then "b c d e f" — and [SEP] stays."""
    (fitted,) = encoder(tokenizer, 6).fit_texts([("a", "b c d e f g h i j")])
    assert tokens(tokenizer, fitted.ids) == ["[CLS]", "g", "h", "i", "j", "[SEP]"]
    assert fitted.removed == 6


def test_error_refuses_a_response_too_long_alone_but_still_cuts_prompts(tokenizer):
    enc = encoder(tokenizer, 6)
    assert enc.fit_texts([("a b c", "x y")], "error")[0].removed == 1
    with pytest.raises(ResponseTooLongError) as err:
        enc.fit_texts([("a b", "x y"), ("a", "b c d e f g h i j")], "error")
    assert err.value.index == 1 and "max_length 6" in str(err.value)


def test_no_room_for_the_special_tokens_is_one_line(tokenizer):
    with pytest.raises(UserError, match="leaves no room"):
        encoder(tokenizer, 1).fit_texts([("a", "b")])


def test_whole_texts_are_cut_the_same_way(tokenizer):
    """A whole text is all "response": [CLS] a … h x y [SEP] at max_length 8 loses a b c d."""
    (fitted,) = encoder(tokenizer, 8).fit_whole_texts([f"{PROMPT} x y"])
    assert tokens(tokenizer, fitted.ids) == ["[CLS]", "e", "f", "g", "h", "x", "y", "[SEP]"]
    assert fitted.removed == 4


def test_pairs_truncate_each_text_as_alone(tokenizer):
    """Under truncate each side is cut on its own: chosen "x y" (12 tokens) loses 4, rejected
    "x y z" (13) loses 5, at max_length 8 — what scoring each text alone gives."""
    pair = PreferencePair(PROMPT, "x y", "x y z")
    enc = encoder(tokenizer, 8)
    (encoded,), report = enc.encode_pairs([pair], "truncate")
    alone = enc.fit_texts([(PROMPT, "x y"), (PROMPT, "x y z")])
    assert list(encoded.chosen_ids) == alone[0].ids and list(encoded.rejected_ids) == alone[1].ids
    assert (encoded.removed_chosen, encoded.removed_rejected) == (4, 5)
    assert report.truncated == 1 and report.response_truncated == 0


def test_pairs_keep_every_pair_under_truncate_and_count_response_cuts(tokenizer):
    """A pair whose chosen response alone is too long: truncate-prompt drops it (counted),
    truncate keeps it with the response's start cut and counts that."""
    pair = PreferencePair("a", "b c d e f g h i j", "x", source="data.jsonl:3")
    enc = encoder(tokenizer, 6)
    kept, report = enc.encode_pairs([pair], "truncate-prompt")
    assert kept == [] and report.examples == {"dropped_response_too_long": ["data.jsonl:3"]}
    (encoded,), report = enc.encode_pairs([pair], "truncate")
    assert tokens(tokenizer, encoded.chosen_ids) == ["[CLS]", "g", "h", "i", "j", "[SEP]"]
    assert encoded.removed_rejected == 0 and report.response_truncated == 1


def test_truncate_prompt_cuts_both_sides_alike(tokenizer):
    """truncate-prompt (training): both sides lose 13 − 8 = 5 prompt tokens, the same context."""
    pair = PreferencePair(PROMPT, "x y", "x y z")
    (encoded,), _ = encoder(tokenizer, 8).encode_pairs([pair], "truncate-prompt")
    assert tokens(tokenizer, encoded.chosen_ids) == ["[CLS]", "f", "g", "h", "x", "y", "[SEP]"]
    assert (encoded.removed_chosen, encoded.removed_rejected) == (5, 5)


def test_unknown_policies_are_one_line(tokenizer):
    with pytest.raises(UserError, match="--overlong 'cut'"):
        encoder(tokenizer, 8).fit_texts([("a", "b")], "cut")
    with pytest.raises(UserError, match="--overlong 'drop'"):
        encoder(tokenizer, 8).fit_texts([("a", "b")], "drop")


@pytest.mark.parametrize("max_length", [6, 12, 14])
def test_the_saved_tokenizer_cuts_whole_texts_the_same_way(tiny_bert_dir, tmp_path, max_length):
    """`tokenizer(text, truncation=True)` of the saved folder (model_max_length, left
    truncation) equals rewardkit's ids, under (14), at (12) and over (6) the limit, the
    response's start included."""
    model = RewardModel.from_backbone(str(tiny_bert_dir), max_length=max_length)
    model.save_pretrained(tmp_path / "rm")
    saved = AutoTokenizer.from_pretrained(tmp_path / "rm")
    assert (saved.model_max_length, saved.truncation_side) == (max_length, "left")
    for prompt, response in [(PROMPT, "x y"), ("a", "b c d e f g h i j")]:
        text = model.template.render(model.tokenizer, prompt, response)[0]
        (fitted,) = model.encoder.fit_texts([(prompt, response)])
        assert saved(text, truncation=True)["input_ids"] == fitted.ids
