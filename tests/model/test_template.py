"""How a (prompt, response) becomes one text: the chat template saved with the model renders
exactly rewardkit's text; text prompts are joined with one space; hh-rlhf transcripts come
back unchanged."""

import sys
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from rewardkit.data.formats import parse_hh_rlhf
from rewardkit.model import DEFAULT_CHAT_TEMPLATE, RewardModel, TextTemplate
from rewardkit.model.template import ChatTemplateRefused

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from one_line_refusals import refusal  # noqa: E402
from tiny_reward_models import ALTERNATING_ONLY, with_chat_template  # noqa: E402

CHAT = [
    {"role": "system", "content": "be good"},
    {"role": "user", "content": "hello"},
    {"role": "assistant", "content": "hi"},
    {"role": "user", "content": "what tea ?"},
]


@pytest.fixture(scope="module")
def bert_tokenizer(tiny_bert_dir):
    return AutoTokenizer.from_pretrained(tiny_bert_dir)


@pytest.mark.parametrize(
    "prompt, response, text",
    [
        ("How are you?", "Fine.", "How are you? Fine."),  # joined by one space
        ("Question:\n", "Answer", "Question:\nAnswer"),  # no space after whitespace
        ("", "Only a response", "Only a response"),
    ],
)
def test_text_prompt_is_prompt_space_response(bert_tokenizer, prompt, response, text):
    rendered, response_start, add_special = TextTemplate().render(bert_tokenizer, prompt, response)
    assert rendered == text
    assert rendered[response_start:] == response
    assert add_special is True


def test_hh_rlhf_transcript_is_reproduced_exactly(bert_tokenizer):
    """parse_hh_rlhf splits at the last shared "\\n\\nAssistant:"; rendering prompt + response
    gives back the original chosen and rejected strings, character for character."""
    chosen = (
        "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: Tea?\n\nAssistant: Green tea is good."
    )
    rejected = "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: Tea?\n\nAssistant: No."
    (pair,) = parse_hh_rlhf({"chosen": chosen, "rejected": rejected}, "f.jsonl:1")
    assert pair.prompt.endswith("\n\nAssistant:")
    template = TextTemplate()
    assert template.render(bert_tokenizer, pair.prompt, pair.chosen)[0] == chosen
    assert template.render(bert_tokenizer, pair.prompt, pair.rejected)[0] == rejected


def test_default_chat_template_writes_hh_rlhf_transcripts(bert_tokenizer):
    """Chat messages through DEFAULT_CHAT_TEMPLATE read like hh-rlhf:
    "\\n\\nSystem: be good\\n\\nHuman: hello\\n\\nAssistant: hi\\n\\nHuman: what tea ?"
    "\\n\\nAssistant: green"."""
    text, start, add_special = TextTemplate().render(bert_tokenizer, CHAT, "green")
    assert text == (
        "\n\nSystem: be good\n\nHuman: hello\n\nAssistant: hi"
        "\n\nHuman: what tea ?\n\nAssistant: green"
    )
    assert text[start:] == "green"
    assert add_special is True


@pytest.mark.parametrize(
    "backbone, source",
    [
        ("tiny_bert_rm_dir", "rewardkit-default"),
        ("tiny_llama_rm_dir", "rewardkit-default"),
        ("tiny_llama_chat_rm_dir", "tokenizer"),
    ],
)
def test_saved_chat_template_renders_rewardkits_text(request, backbone, source):
    """apply_chat_template(messages + [assistant], tokenize=False) with the saved tokenizer
    equals the text rewardkit renders, for its default template and for a backbone's own."""
    directory = request.getfixturevalue(backbone)
    model = RewardModel.from_pretrained(directory)
    assert model.template.chat_template_source == source
    plain = AutoTokenizer.from_pretrained(directory)
    messages = CHAT + [{"role": "assistant", "content": "green tea is good"}]
    expected = plain.apply_chat_template(messages, tokenize=False)
    ours, start, _ = model.template.render(model.tokenizer, CHAT, "green tea is good")
    assert ours == expected
    assert ours[start:].startswith("green tea is good")


def test_backbone_template_is_used_and_writes_its_own_bos(tiny_llama_chat_dir, tiny_llama_dir):
    """A tokenizer with its own chat template: used as is, add_special_tokens False (the
    template writes BOS), EOS appended for decoders. Without one: the default template."""
    own = TextTemplate.for_tokenizer(
        AutoTokenizer.from_pretrained(tiny_llama_chat_dir), is_decoder=True
    )
    assert own.chat_template_source == "tokenizer" and not own.add_special_tokens_chat
    assert own.append_eos
    default = TextTemplate.for_tokenizer(
        AutoTokenizer.from_pretrained(tiny_llama_dir), is_decoder=False
    )
    assert default.chat_template == DEFAULT_CHAT_TEMPLATE and default.add_special_tokens_chat
    assert not default.append_eos


def test_template_round_trips_through_a_dict():
    template = TextTemplate(text_joiner="\n", append_eos=True)
    assert TextTemplate.from_dict({**template.to_dict(), "unknown": 1}) == template


def test_a_template_that_raises_is_a_one_line_refusal(bert_tokenizer):
    """A chat template that checks the messages (here: user and assistant must alternate)
    raises a jinja error; rewardkit reports it as a UserError carrying the template's reason,
    not a jinja traceback."""
    template = TextTemplate(chat_template=ALTERNATING_ONLY)
    turns = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    with pytest.raises(ChatTemplateRefused, match="roles must alternate user/assistant"):
        template.render(bert_tokenizer, turns, "c")
    text, _, _ = template.render(bert_tokenizer, turns[:1], "c")
    assert text == "user: a\nassistant: c\n"


def test_score_names_the_line_a_template_refuses(tiny_bert_rm_dir, write_preferences, tmp_path):
    """Through `rewardkit score`: one line naming the record's file:line, exit 2."""
    model = with_chat_template(tiny_bert_rm_dir, tmp_path / "model", ALTERNATING_ONLY)
    good = [{"role": "user", "content": "tea?"}]
    bad = good + [{"role": "user", "content": "well?"}]
    data = write_preferences(
        [
            {"prompt": good, "chosen": "green", "rejected": "no"},
            {"prompt": bad, "chosen": "green", "rejected": "no"},
        ]
    )
    line = refusal(["score", "--model", model, "--data", data, "--out", tmp_path / "s.jsonl"])
    assert f"{data}:2" in line and "roles must alternate user/assistant" in line, line
