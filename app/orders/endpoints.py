from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from app.api.deps import Engine, Principal, Session, require
from app.api.pagination import Page, Paging, time_key
from app.api.roles import Right
from app.api.schemas import Id
from app.api.transaction import TransactionRoute
from app.cases import repository as cases
from app.models import Order
from app.orders import service as orders
from app.orders.phones import TypedPhone
from app.orders.schemas import CaseLink, OrderIn, OrderOut

router = APIRouter(prefix="/v1/orders", tags=["orders"], route_class=TransactionRoute)

OrderId = Annotated[Id, Path(description="The order system's id.", examples=["ORD-20931"])]


async def view(session: Session, order: Order, *, new: bool = False) -> OrderOut:
    """``new``: the order was created in this request, so it has no cases to look up."""
    links = [
        CaseLink(id=c.id, case_type=c.case_type, status=c.status, url=f"/v1/cases/{c.id}")
        for c in ([] if new else await cases.for_order(session, order.id))
    ]
    return OrderOut.model_validate(
        {
            **{c: getattr(order, c) for c in order.__table__.columns.keys()},
            "cases": links,
            "links": {
                "cases": f"/v1/cases?order_id={order.id}",
                "decisions": f"/v1/decisions?order_id={order.id}",
            },
        }
    )


@router.put(
    "/{order_id}",
    response_model=OrderOut,
    summary="Create or replace an order snapshot",
    responses={201: {"model": OrderOut, "description": "Created"}},
)
async def put_order(
    order_id: OrderId,
    body: OrderIn,
    session: Session,
    engine: Engine,
    response: Response,
    _: Annotated[Principal, Depends(require(Right.SEND_ORDERS))],
) -> OrderOut:
    order, created = await orders.upsert(session, order_id, body, engine.policy)
    response.status_code = 201 if created else 200
    return await view(session, order, new=created)


@router.get("/{order_id}", response_model=OrderOut, summary="An order, its status and its cases")
async def get_order(
    order_id: OrderId,
    session: Session,
    principal: Annotated[Principal, Depends(require(Right.READ))],
) -> OrderOut:
    order = await orders.get(session, order_id)
    principal.ensure_vendor(order.vendor_id)
    return await view(session, order)


@router.get(
    "",
    response_model=Page[OrderOut],
    summary="A customer's orders, found by phone number, newest first",
    description="Exact match on the number, however it is written: +919812345678, "
    "919812345678, 09812345678 and 9812345678 are one Indian number (spaces, hyphens and "
    "brackets between digits are ignored); a number of another country needs its + and "
    "country code. Newest first by the time this service first saw the order.",
)
async def find_orders(
    session: Session,
    _: Annotated[Principal, Depends(require(Right.FIND_ORDERS))],
    paging: Paging,
    customer_phone: Annotated[TypedPhone, Query(description="The customer's phone number.")],
) -> Page[OrderOut]:
    items = await orders.find_by_customer_phone(
        session, customer_phone, after=paging.after_time_key(), limit=paging.fetch
    )
    return paging.page(items, key=lambda o: time_key(o.created_at, o.id))
