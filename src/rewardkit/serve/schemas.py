"""Request bodies of the reward server, and its one error shape.

==============  =============================================================================
endpoint        request body
==============  =============================================================================
/get_reward     OpenRLHF's remote reward model (``openrlhf/cli/serve_rm.py``, agent client):
                ``{"query": [full texts], "prompts": [texts] (optional),
                "labels": [anything] (optional, ignored)}``, and rewardkit's own optional
                ``"aggregate"``/``"uwo_lambda"`` (as for /score); other keys are ignored.
/score          ``{"prompt": text | [messages], "responses": [texts]}``
                or ``{"items": [{"prompt": text | [messages], "response": text}, ...]}``
                or that list of items alone; the two object forms may add ``"aggregate":
                "mean" | "min" | "uwo"`` and ``"uwo_lambda": λ ≥ 0`` (this request only).
==============  =============================================================================

A chat prompt is a non-empty list of ``{"role", "content"}`` messages whose roles are
:data:`rewardkit.data.records.CHAT_ROLES` (system, user, assistant): the policy of the data
readers, so a prompt the CLI refuses is refused here too.

Every error is ``{"error": {"code", "message", "field"}}``: ``field`` names the offending
request field (``"query[2]"``), or is null when the body as a whole is wrong.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from rewardkit.data.records import CHAT_ROLES
from rewardkit.model.aggregate import AGGREGATES

FIELD_NAME_CHARS = 64  # an unknown key is echoed in the error, cut to this length


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal[CHAT_ROLES]  # Literal[("a", "b")] is Literal["a", "b"]
    content: StrictStr


PromptField = Union[StrictStr, Annotated[list[Message], Field(min_length=1)]]


class AggregateOverride(BaseModel):
    """A per-request choice of the ensemble aggregate (default: the server's flags)."""

    aggregate: Literal[AGGREGATES] | None = None
    uwo_lambda: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class GetRewardRequest(AggregateOverride):
    """OpenRLHF's payload; ``labels`` (reference answers for rule-based verifiers) is accepted
    and ignored, as OpenRLHF's own server does. rewardkit's client may add the aggregate."""

    model_config = ConfigDict(extra="ignore")

    query: list[StrictStr] = Field(min_length=1)
    prompts: list[StrictStr] | None = None
    labels: list[Any] | None = None


class ScoreResponsesRequest(AggregateOverride):
    model_config = ConfigDict(extra="forbid")

    prompt: PromptField
    responses: list[StrictStr] = Field(min_length=1)


class ScoreItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: PromptField
    response: StrictStr


class ScoreItemsRequest(AggregateOverride):
    model_config = ConfigDict(extra="forbid")

    items: list[ScoreItem] = Field(min_length=1)


class RequestError(Exception):
    """An HTTP error in the server's JSON shape."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


def field_path(loc: tuple) -> str | None:
    """``("query", 2)`` → ``"query[2]"``; ``("items", 0, "prompt", "str")`` →
    ``"items[0].prompt"`` (pydantic's union-branch names are dropped)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("str", "list[Message]", "function-after", "union"):
            continue
        elif part.startswith("list[") or part.startswith("constrained-"):
            continue
        else:
            name = str(part)
            if len(name) > FIELD_NAME_CHARS:
                name = name[: FIELD_NAME_CHARS - 1] + "…"
            out += ("." if out else "") + name
    return out or None


def validation_error(exc: ValidationError, *, prefix: tuple = ()) -> RequestError:
    """A pydantic error as a 422 naming its field: the most specific one. A prompt that is
    neither a string nor messages fails both branches of the union; the branch that matched
    the value's type says more (``[]``: "at least 1 item", not "not a string"), so plain type
    mismatches count last; then the longest location wins (a message lacking "content" says
    so rather than "not a string")."""
    errors = exc.errors(include_url=False)
    first = max(errors, key=lambda e: (not e["type"].endswith("_type"), len(e["loc"])))
    path = field_path(prefix + tuple(first["loc"]))
    kind = first["type"]
    if kind == "missing":
        message = f"field '{path}' is required"
    elif kind == "extra_forbidden":
        message = f"unknown field '{path}'"
    else:
        message = f"field '{path}': {first['msg']}"
    return RequestError(422, "invalid_field", message, path)


def parse_score_request(data: Any) -> ScoreResponsesRequest | ScoreItemsRequest:
    """Pick the ``/score`` form from the body's shape, then validate it. A bare list is read
    as ``{"items": list}`` (its errors name ``items[i]`` too)."""
    if isinstance(data, list):
        data = {"items": data}
    if not isinstance(data, dict):
        raise RequestError(
            422,
            "invalid_body",
            'the body must be a JSON object {"prompt", "responses"} or {"items": [...]}',
        )
    model = ScoreItemsRequest if "items" in data else ScoreResponsesRequest
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


def parse_get_reward_request(data: Any) -> GetRewardRequest:
    if not isinstance(data, dict):
        raise RequestError(422, "invalid_body", 'the body must be a JSON object {"query": [...]}')
    try:
        return GetRewardRequest.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None
