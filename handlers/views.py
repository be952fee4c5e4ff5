"""Texts several features share: who may not do something and why, and the language screen.

Pure functions of the reader's translator (and plain values), like every views module.
"""

from __future__ import annotations

from bot.i18n import Translator


def admins_only(t: Translator) -> str:
    return t._("Only admins can do that.")


def no_permission(t: Translator) -> str:
    """To a staff admin whose permissions do not cover what they tried."""
    return t._("You do not have permission for that. Ask an owner.")


def not_registered(t: Translator, user_id: int) -> str:
    return t._(
        "You are not registered as a reseller yet.\n"
        "Send your Telegram id <code>{user_id}</code> to an admin to get access.",
        user_id=user_id,
    )


def reseller_suspended(t: Translator) -> str:
    return t._("Your reseller account is suspended. Contact an admin.")


def credits_frozen(t: Translator) -> str:
    """Said when the asker, or a reseller above it, is suspended."""
    return t._(
        "Your account, or a reseller above it, is suspended: no credits can be moved. "
        "Contact an admin."
    )


def choose_language(t: Translator) -> str:
    return t._("🌐 Choose your language:")


def language_chosen(t: Translator) -> str:
    """Said in the language just chosen, which its catalog names."""
    return t._("✅ From now on I will write to you in English.")


def group_language_chosen(t: Translator) -> str:
    # Written in the language just chosen, so "English" is that language's own name.
    return t._("✅ From now on I will write in this group in English.")
