"""The candidates format (read, validate, skip) and reading prompts to sample from."""

import pytest

from rewardkit.candidates.format import read_candidates
from rewardkit.candidates.prompts import prompt_messages, read_prompts, transcript_messages
from rewardkit.errors import BadRecordError, UserError

CHAT = [{"role": "user", "content": "hi"}]


def test_reads_sets_with_ids_and_extra_keys(write_candidates_file):
    path = write_candidates_file(
        [
            {"prompt": "p", "responses": ["a", "b"], "seed": 3},
            {"id": 7, "prompt": CHAT, "responses": ["c"]},
        ]
    )
    sets, skipped = read_candidates(path)
    assert skipped == []
    assert sets[0].id == f"{path}:1" and sets[0].extra == {"seed": 3}
    assert sets[1].id == "7" and sets[1].prompt == CHAT and sets[1].responses == ["c"]
    assert sets[0].to_json(rewards=[1.0, 2.0]) == {
        "id": f"{path}:1",
        "prompt": "p",
        "responses": ["a", "b"],
        "seed": 3,
        "rewards": [1.0, 2.0],
    }


@pytest.mark.parametrize(
    "row, field, problem",
    [
        ({"prompt": "p", "responses": []}, "responses", "non-empty list"),
        ({"prompt": "p", "responses": ["a", 2]}, "responses", "response 1 is not a string"),
        ({"responses": ["a"]}, "prompt", "is missing"),
        ('{"prompt": "p", ', None, "JSON"),
    ],
)
def test_bad_record_names_file_line_and_field(write_candidates_file, row, field, problem):
    path = write_candidates_file([{"prompt": "ok", "responses": ["a"]}, row])
    with pytest.raises(BadRecordError) as info:
        read_candidates(path)
    message = str(info.value)
    assert message.startswith(f"{path}:2") and problem in message
    if field:
        assert f"field '{field}'" in message
    sets, skipped = read_candidates(path, on_bad_record="skip")
    assert len(sets) == 1 and len(skipped) == 1 and skipped[0][0] == f"{path}:2"


def test_file_with_no_usable_record(write_candidates_file):
    path = write_candidates_file([{"prompt": "p", "responses": []}])
    with pytest.raises(UserError, match="no usable candidates record"):
        read_candidates(path, on_bad_record="skip")


def test_transcript_messages():
    text = "\n\nHuman: hi there\n\nAssistant: hello\n\nHuman: how are you?\n\nAssistant:"
    assert transcript_messages(text) == [
        {"role": "user", "content": "hi there"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "how are you?"},
    ]
    assert transcript_messages("plain question?") is None
    assert prompt_messages("plain question?", system="be brief") == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "plain question?"},
    ]
    assert prompt_messages(CHAT) == CHAT


def test_read_prompts_kinds(tmp_path, write_candidates_file):
    txt = tmp_path / "p.txt"
    txt.write_text("first\n\nsecond\nfirst\n")
    assert read_prompts(str(txt)) == ["first", "second"]  # blank skipped, repeat kept once
    path = write_candidates_file(
        [
            {"prompt": "a"},
            {"messages": CHAT + [{"role": "assistant", "content": "old answer"}]},
            {"prompt": "x", "chosen": "c", "rejected": "r"},
            {
                "chosen": "\n\nHuman: q?\n\nAssistant: yes",
                "rejected": "\n\nHuman: q?\n\nAssistant: no",
            },
        ],
        name="prompts.jsonl",
    )
    assert read_prompts(path) == ["a", CHAT, "x", "\n\nHuman: q?\n\nAssistant:"]
    assert read_prompts(path, limit=2) == ["a", CHAT]


def test_read_prompts_from_hh_rlhf(shared_data):
    prompts = read_prompts(str(shared_data / "hh-rlhf-harmless-base" / "test.jsonl.gz"), limit=3)
    assert len(prompts) == 3
    for prompt in prompts:
        assert prompt.startswith("\n\nHuman:") and prompt.endswith("\n\nAssistant:")
        messages = transcript_messages(prompt)
        assert messages[0]["role"] == "user" and messages[-1]["role"] == "user"


def test_a_prompts_txt_that_is_not_utf8_names_its_line(tmp_path):
    """Latin-1 bytes on line 2 of a .txt prompts file: one line naming file:2."""
    txt = tmp_path / "p.txt"
    txt.write_bytes("first\nthé\n".encode("latin-1"))
    with pytest.raises(UserError) as err:
        read_prompts(str(txt))
    assert str(err.value) == f"{txt}:2: not UTF-8 text; save the prompts file as UTF-8"
