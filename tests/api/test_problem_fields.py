"""The field a 422 names is the field as the body spells it, also inside a tagged union
(an override's actions, a simulation) whose member's tag Pydantic adds to the error's path."""

from typing import Any, Literal, get_origin

import pytest
from httpx import AsyncClient

import app.main  # noqa: F401 - every router, so every input model is defined
from app.api.problems import UNION_TAG_KEYS
from app.api.schemas import InputModel
from tests.api.overriding import decided_case
from tests.conftest import Headers
from tests.factories import dispute_body, payment_record, put_completed_order


def fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    return sorted(error["field"] for error in response.json()["errors"])


@pytest.mark.parametrize(
    ("actions", "named"),
    [
        ([{"type": "credit_fine"}], ["actions[0].amount"]),
        # A key spelled like the tag is a field of the object, named as such.
        (
            [{"type": "credit_fine", "amount": 40.5, "credit_fine": 1}],
            ["actions[0].amount", "actions[0].credit_fine"],
        ),
        ([{"type": "sla_strike"}, {"type": "escalate", "to": "ceo"}], ["actions[1].to"]),
    ],
)
async def test_an_actions_fields_are_named_without_its_tag(
    client: AsyncClient,
    service: Headers,
    ops: Headers,
    actions: list[dict[str, Any]],
    named: list[str],
) -> None:
    ruled = await decided_case(client, service, ops, "customer_changed_mind", "customer")
    body = {"outcome": "failed_vendor_fault", "reason": "x", "actions": actions}
    response = await client.post(f"/v1/cases/{ruled['id']}/override", json=body, headers=ops)
    assert fields(response) == named


async def test_a_missing_field_is_named_when_another_field_holds_its_name(
    client: AsyncClient, service: Headers, ops: Headers, support: Headers
) -> None:
    ruled = await decided_case(client, service, ops, "customer_changed_mind", "customer")
    override = await client.post(
        f"/v1/cases/{ruled['id']}/override", json={"outcome": "reason"}, headers=ops
    )
    assert fields(override) == ["reason"]

    await put_completed_order(client, service, "ORD-2")
    dispute = dispute_body("ORD-2", customer={"name": "phone"})
    answer = await client.post("/v1/payout-disputes", json=dispute, headers=support)
    assert fields(answer) == ["customer.phone"]

    record = payment_record("ORD-2", "amount")
    del record["amount"]
    records = await client.post("/v1/payment-records", json={"records": [record]}, headers=service)
    assert fields(records) == ["records[0].amount"]


async def test_a_simulations_fields_are_named_without_its_case_type(
    client: AsyncClient, service: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1")
    body = {**dispute_body("ORD-1"), "case_type": "payout_dispute", "amount_received": 1.5}
    response = await client.post("/v1/decisions/simulate", json=body, headers=service)
    assert fields(response) == ["amount_received"]


def _input_models(cls: type[InputModel]) -> list[type[InputModel]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_input_models(sub)]
    return found


def test_only_a_tagged_unions_members_have_fields_named_like_its_tag() -> None:
    """What the error paths rely on: an input model's field named like a tag key is the tag
    of a union member (a Literal), so the value of such a key in a body is always a tag."""
    tagged = [
        (model.__name__, name)
        for model in _input_models(InputModel)
        for name, field in model.model_fields.items()
        if name in UNION_TAG_KEYS
    ]
    assert tagged, "the unions' members are input models"
    for model in _input_models(InputModel):
        for name, field in model.model_fields.items():
            if name in UNION_TAG_KEYS:
                assert get_origin(field.annotation) is Literal, (model.__name__, name)
