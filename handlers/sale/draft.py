"""The sale flow's steps by name, its draft, and how a step shows its screen."""

from __future__ import annotations

from dataclasses import dataclass

from bot.context import BotContext
from handlers import flow
from handlers.flow import FlowMessage
from handlers.sale import views
from models import OrderKind

# The flow's steps (state names are unique across every flow: see handlers/flow.py).
USERNAME, PICK_CUSTOMER, PICK_PLAN, CONFIRM = (
    "sale:username",
    "sale:pick_customer",
    "sale:pick_plan",
    "sale:confirm",
)
DRAFT = "sale_draft"


@dataclass
class SaleDraft(FlowMessage):
    kind: OrderKind = OrderKind.ACTIVATION
    username: str | None = None
    customer_id: int | None = None
    plan_id: int | None = None
    price: int | None = None  # as the confirmation screen showed it
    nonce: str = ""
    search: str | None = None


def invite_link(context: BotContext, token: str) -> str:
    return f"https://t.me/{context.bot.username}?start={token}"


def current_draft(context: BotContext) -> SaleDraft | None:
    return flow.draft(context, DRAFT, SaleDraft)


def end_flow(context: BotContext) -> int:
    return flow.end(context, DRAFT)


async def show_step(context: BotContext, draft: SaleDraft, screen: views.Screen) -> None:
    await flow.render(context, draft, *screen)
