# ruff: noqa: RUF001 - full-width Chinese punctuation in the Chinese notices
"""The fixed sentences of the notifications, in each language the engine speaks.

A notification's text is written once, when the change it reports happens, in the language
of the person it tells (their `User.language`): the bell, the notifications page and the
e-mail show it as it was written.  The sentences are here, one entry per kind of notice (the
English one exactly as the engine always wrote it), so that every feature that tells someone
something words it the same way in English and in Simplified Chinese; the names they carry
(a task's, a role's) are translated by the caller from the deal's version
(engine.usecases.notices), the names people gave (a deal, an initiative, a person) stay.

Why here: the sentences are data with no database or clock, so engine/core (pure) where every
layer may read them; the use cases and the worker's jobs look up the recipient's language and
write the notification (engine.usecases.notices.Notices).

Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from engine.core.translations import CHINESE, ENGLISH

__all__ = ["SENTENCES", "deals_and_tasks", "moment", "period", "tasks_moved", "wording"]

SENTENCES: dict[str, dict[str, str]] = {
    # engine.jobs.escalation
    "escalated": {
        ENGLISH: "Overdue: '{task}' on {deal} was due {due}; escalated to {role}.",
        CHINESE: "已逾期：商机「{deal}」的任务「{task}」应于 {due} 完成，已上报给{role}。",
    },
    # engine.jobs.reminders
    "initiative_reminder": {
        ENGLISH: "Initiative '{initiative}': '{step}' is in progress and was last updated "
        "{days} day(s) ago. Update its row in the execution table (status, notes).",
        CHINESE: "优化项目「{initiative}」：「{step}」正在进行，已有 {days} 天未更新。"
        "请在执行表中更新这一行（状态、备注）。",
    },
    # engine.usecases.initiatives (the weekly review)
    "initiative_flagged": {
        ENGLISH: "Initiative '{initiative}': '{step}' ({owner}) has been blocked at "
        "{reviews} weekly reviews in a row. Re-evaluate the direction.",
        CHINESE: "优化项目「{initiative}」：「{step}」（{owner}）已连续 {reviews} 次周检受阻。"
        "请重新评估方向。",
    },
    # engine.usecases.handover: one task
    "reassigned_to_you": {
        ENGLISH: "{who} gave you the task '{task}' of deal '{deal}'.",
        CHINESE: "{who} 把商机「{deal}」的任务「{task}」交给了你。",
    },
    "reassigned_covering": {
        ENGLISH: "The task '{task}' of deal '{deal}' came to you: {to} is away.",
        CHINESE: "商机「{deal}」的任务「{task}」转给了你：{to} 正在休假。",
    },
    "reassigned_away": {
        ENGLISH: "{who} reassigned your task '{task}' of deal '{deal}' to {to}.",
        CHINESE: "{who} 把你在商机「{deal}」中的任务「{task}」转派给了 {to}。",
    },
    # engine.usecases.handover: everything a rep has
    "handover_to_you": {
        ENGLISH: "{who} handed over to you the work of {giver}: {what}.",
        CHINESE: "{who} 把 {giver} 的工作交接给了你：{what}。",
    },
    "handover_yours": {
        ENGLISH: "{who} handed over your work to {taker}: {what}.",
        CHINESE: "{who} 把你的工作交接给了 {taker}：{what}。",
    },
    # engine.usecases.delegations
    "delegated_covering": {
        ENGLISH: "You cover for {away} {period}: their tasks and new assignments come to you "
        "({moved} open now).",
        CHINESE: "你将{period}代理 {away} 的工作：其任务和新分配的任务都会转给你"
        "（当前 {moved} 项）。",
    },
    "delegated_away": {
        ENGLISH: "{who} handed your work to {cover} {period}.",
        CHINESE: "{who} 已把你的工作交给 {cover}，{period}。",
    },
    "delegation_back": {
        ENGLISH: "Welcome back: your delegation to {cover} ended and {moved} came back to you.",
        CHINESE: "欢迎回来：你交给 {cover} 的代理已结束，{moved}已回到你手中。",
    },
    "delegation_over": {
        ENGLISH: "You no longer cover for {rep}; {moved} went back to them.",
        CHINESE: "你不再代理 {rep} 的工作；{moved}已交还给对方。",
    },
    # engine.usecases.incidents
    "incident_retry": {
        ENGLISH: "{user} retried '{task}' of deal '{deal}'.",
        CHINESE: "{user} 重试了商机「{deal}」的「{task}」。",
    },
    "incident_skip": {
        ENGLISH: "{user} skipped '{task}' of deal '{deal}'.",
        CHINESE: "{user} 跳过了商机「{deal}」的「{task}」。",
    },
    # engine.store.changes: a deal went into error (engine.core.failure_words words why)
    "incident": {
        ENGLISH: "Deal '{deal}' stopped: {step} failed. {reason}",
        CHINESE: "商机「{deal}」已停止：「{step}」出错。{reason}",
    },
    "cancelled": {
        ENGLISH: "{user} cancelled deal '{deal}': {reason}",
        CHINESE: "{user} 取消了商机「{deal}」：{reason}",
    },
    # engine.usecases.outcomes: a deal marked lost by someone else than its owner
    "lost": {
        ENGLISH: "{user} marked deal '{deal}' lost: {reason}",
        CHINESE: "{user} 把商机「{deal}」标记为丢单：{reason}",
    },
    # engine.usecases.tasks: an approval refused sends the work back to '{task}'
    "sent_back": {
        ENGLISH: "{who} sent deal '{deal}' back to you: '{task}' is open again. {who} says: "
        '"{comment}"',
        CHINESE: "{who} 退回了商机「{deal}」：「{task}」需要你重新处理。{who} 的意见：“{comment}”",
    },
    "sent_back_silent": {
        ENGLISH: "{who} sent deal '{deal}' back to you: '{task}' is open again.",
        CHINESE: "{who} 退回了商机「{deal}」：「{task}」需要你重新处理。",
    },
    # engine.usecases.activities: a customer silent past its tier's cadence
    "cadence_reminder": {
        ENGLISH: "No contact with {customer} (tier {tier}) for {days} days: follow up.",
        CHINESE: "已有 {days} 天未联系客户「{customer}」（{tier} 类）：请跟进。",
    },
}


def wording(sentence: str, locale: str, values: Mapping[str, object]) -> str:
    """The sentence of a notice in `locale` ("en", "zh"; English for any other) with its
    values filled in."""
    texts = SENTENCES[sentence]
    return texts.get(locale, texts[ENGLISH]).format_map(dict(values))


def tasks_moved(tasks: int, queued: int, locale: str) -> str:
    """'3 open tasks (1 of them to their role's queue)' (engine.usecases.people.moved_note)."""
    if locale == CHINESE:
        text = f"{tasks} 项待办任务"
        return text + (f"（其中 {queued} 项转入其角色的队列）" if queued else "")
    text = f"{tasks} open task{'s' if tasks != 1 else ''}"
    return text + (f" ({queued} of them to their role's queue)" if queued else "")


def deals_and_tasks(deals: int, tasks: int, queued: int, locale: str) -> str:
    """What a handover moved: '2 deals and 3 open tasks'."""
    if locale == CHINESE:
        return f"{deals} 个商机和{tasks_moved(tasks, queued, locale)}"
    return f"{deals} deal{'s' if deals != 1 else ''} and {tasks_moved(tasks, queued, locale)}"


def moment(value: datetime | None, locale: str) -> str:
    """A time in a notice (UTC, as the notices always wrote it); None is 'further notice'."""
    if value is None:
        return "另行通知" if locale == CHINESE else "further notice"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def period(starts: datetime | None, ends: datetime | None, locale: str) -> str:
    """'from 2026-03-02 09:00 UTC until 2026-03-09 18:00 UTC' of a delegation."""
    if locale == CHINESE:
        if ends is None:
            return f"自 {moment(starts, locale)} 起直至另行通知"
        return f"自 {moment(starts, locale)} 至 {moment(ends, locale)}"
    return f"from {moment(starts, locale)} until {moment(ends, locale)}"
