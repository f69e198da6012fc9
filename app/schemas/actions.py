"""Action objects on the wire, one model per action type of the contract.

The models are made from ``ACTION_PARAMS``, the same vocabulary the rule tables are checked
against, so an action ops may send is exactly an action a rule may record.
"""

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, Strict, create_model

from app.rules_engine.tables import ACTION_PARAMS, ESCALATION_TARGETS, ParamKind
from app.schemas.common import InputModel

_PARAM_TYPES: dict[ParamKind, Any] = {
    "amount": Annotated[
        int,
        Strict(),
        Field(ge=0, le=10**12, description="Paise for money, credits for credits, or a count."),
    ],
    "bool": Annotated[bool, Strict()],
    "str": Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")],
    "target": Literal.__getitem__(ESCALATION_TARGETS),
    "text": Annotated[str, Field(min_length=1, max_length=2000)],
}


def _model(action_type: str, params: dict[str, ParamKind]) -> type[BaseModel]:
    model_name = "".join(part.title() for part in action_type.split("_")) + "Action"
    tag: Any = Literal.__getitem__(action_type)
    fields: dict[str, Any] = {param: (_PARAM_TYPES[kind], ...) for param, kind in params.items()}
    return create_model(model_name, __base__=InputModel, type=(tag, ...), **fields)


ACTION_MODELS = tuple(_model(kind, params) for kind, params in ACTION_PARAMS.items())

if TYPE_CHECKING:
    # The union is built at run time from the vocabulary; to the type checker each is a model.
    ActionIn = BaseModel
else:
    ActionIn = Annotated[Union[ACTION_MODELS], Field(discriminator="type")]  # noqa: UP007
