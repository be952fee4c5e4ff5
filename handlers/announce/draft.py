"""The announcement composer's steps by name and its draft: plain values only; who the
author is and what they may reach is read again at every step."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.announcement_audience import Audience, Segment, Target
from bot.services.announcements import ButtonKind, Message, Template
from handlers import flow

DRAFT = "announce_draft"
AUDIENCE, SEGMENT, VALUE, TEXT, BUTTON, LINK, PREVIEW, TIME = (
    "announce:audience",
    "announce:segment",
    "announce:value",
    "announce:text",
    "announce:button",
    "announce:link",
    "announce:preview",
    "announce:time",
)


@dataclass
class AnnounceDraft(flow.FlowMessage):
    audience: str = Audience.CUSTOMERS.value
    segment: str = Segment.EVERYONE.value
    value: str | None = None
    text: str = ""
    template: str | None = None
    photo_file_id: str | None = None
    button: str | None = None
    button_label: str | None = None
    button_url: str | None = None
    service: bool = False
    nonce: str = ""  # minted with the preview; Send is keyed by it
    day: str | None = None  # the day picked on the calendar to send on (yyyy-mm-dd)

    def target(self) -> Target:
        return Target(Audience(self.audience), Segment(self.segment), self.value, self.service)

    def message(self) -> Message:
        return Message(
            self.text,
            Template(self.template) if self.template else None,
            self.photo_file_id,
            ButtonKind(self.button) if self.button else None,
            self.button_label,
            self.button_url,
        )
