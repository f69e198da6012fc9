"""Action objects on the wire, one model per action type a decision may take.

The models are made from the action vocabulary (app.effects.catalogue), the same one the
rule tables are checked against, so an action ops may send is exactly an action a rule may
record, with its amount in the unit the action declares.
"""

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, Field, Strict, create_model

from app.api.schemas import Credits, InputModel, Paise, whole
from app.effects.catalogue import VOCABULARY
from app.rules_engine.model import ESCALATION_TARGETS, ParamKind

_PARAM_TYPES: dict[ParamKind, Any] = {
    # The numbers every body takes (app.api.schemas): 40.0 is 40, 40.5 and "40" are refused.
    "paise": Paise,
    "credits": Credits,
    "count": Annotated[int, Field(strict=True, ge=0, le=10**6), BeforeValidator(whole)],
    "bool": Annotated[bool, Strict()],
    "code": Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")],
    "target": Literal.__getitem__(ESCALATION_TARGETS),
    "text": Annotated[str, Field(min_length=1, max_length=2000)],
}
# A payout's approval is the money gate's to set (app.effects.guard): an override may ask
# for one, and gets one anyway at or above the high-value threshold.
_DEFAULTS: dict[ParamKind, Any] = {"bool": False}


def _model(action_type: str, params: dict[str, ParamKind]) -> type[BaseModel]:
    model_name = "".join(part.title() for part in action_type.split("_")) + "Action"
    tag: Any = Literal.__getitem__(action_type)
    fields: dict[str, Any] = {
        param: (_PARAM_TYPES[kind], _DEFAULTS.get(kind, ...)) for param, kind in params.items()
    }
    return create_model(model_name, __base__=InputModel, type=(tag, ...), **fields)


ACTION_MODELS = tuple(_model(kind, dict(params)) for kind, params in VOCABULARY.items())

if TYPE_CHECKING:
    # The union is built at run time from the vocabulary; to the type checker each is a model.
    ActionIn = BaseModel
else:
    ActionIn = Annotated[Union[ACTION_MODELS], Field(discriminator="type")]  # noqa: UP007
