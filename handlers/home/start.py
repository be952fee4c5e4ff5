"""/start, /help and the main menu, by role, in the reader's language."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from bot.context import BotContext
from bot.services.resellers import Role
from handlers.common import identify, show
from handlers.customer import screens as customer_screens
from handlers.home import commands, views
from handlers.language import reader, translator
from handlers.portal import screens as portal_screens


async def start(update: Update, context: BotContext) -> None:
    """Greet by role: the admin menu, the reseller menu, or how to get registered."""
    user = update.effective_user
    if user is None:
        return
    r = await reader(update, context)
    if context.args and update.callback_query is None:
        # /start <token>: a customer opening the invite link their reseller sent. The
        # link may have made a stranger a customer: who they are is asked afterwards.
        await customer_screens.link_from_invite(update, context, context.args[0])
        identity = await identify(update, context)
    else:
        identity = await identify(update, context)
        if identity.role == Role.CUSTOMER:
            await portal_screens.show_home(update, context)
        else:
            await show(update, *views.menu_for(identity, user.first_name, user.id, r))
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        # After the answer: the menu is a convenience, the answer is what they asked for.
        await commands.follow_role(context, chat.id, identity, r.t)


async def help_command(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None:
        return
    identity = await identify(update, context)
    t = await translator(update, context)
    from_button = update.callback_query is not None
    menu = commands.menu_of(identity, t)  # what their command menu lists, no more
    await show(update, *views.help_screen(menu, user.id, t, from_button=from_button))
