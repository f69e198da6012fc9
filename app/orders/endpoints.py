from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from app.api.deps import Engine, Principal, Session, require
from app.api.pagination import Page, Paging, time_key
from app.api.roles import Right
from app.api.schemas import Id
from app.api.transaction import TransactionRoute
from app.orders import service as orders
from app.orders.phones import TypedPhone
from app.orders.schemas import OrderIn, OrderOut

router = APIRouter(prefix="/v1/orders", tags=["orders"], route_class=TransactionRoute)

OrderId = Annotated[Id, Path(description="The order system's id.", examples=["ORD-20931"])]


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
    return await orders.view_of(session, order, new=created)


@router.get("/{order_id}", response_model=OrderOut, summary="An order, its status and its cases")
async def get_order(
    order_id: OrderId,
    session: Session,
    principal: Annotated[Principal, Depends(require(Right.READ))],
) -> OrderOut:
    order = await orders.get(session, order_id)
    principal.ensure_vendor(order.vendor_id)
    return await orders.view_of(session, order)


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
