# ruff: noqa: RUF001 - full-width Chinese punctuation is right here; one text per line
"""Simplified Chinese for issue 14's humane pages: a task that is no longer open, the
approver's comment on a task sent back, and the designer's choice lists."""

from __future__ import annotations

ENTRIES: dict[str, str] = {
    # tasks/gone.html
    "This task was completed by %(name)s on %(when)s.": "此任务已由 %(name)s 于 %(when)s 完成。",
    "This task was completed on %(when)s.": "此任务已于 %(when)s 完成。",
    "This task was withdrawn by the process on %(when)s: %(event)s.": (
        "此任务已于 %(when)s 被流程撤回：%(event)s。"
    ),
    "This task was withdrawn by the process on %(when)s.": "此任务已于 %(when)s 被流程撤回。",
    "This task is closed: the deal was marked lost by %(name)s on %(when)s.": (
        "此任务已关闭：商机已由 %(name)s 于 %(when)s 标记为丢单。"
    ),
    "This task is closed: the deal was cancelled by %(name)s on %(when)s.": (
        "此任务已关闭：商机已由 %(name)s 于 %(when)s 取消。"
    ),
    "This task is closed: the deal was moved to another version of its process by "
    "%(name)s on %(when)s.": "此任务已关闭：商机已由 %(name)s 于 %(when)s 迁移到流程的另一版本。",
    "Reason: %(reason)s": "原因：%(reason)s",
    "What you entered was not saved: nothing was changed.": "你填写的内容未保存：没有任何更改。",
    "Open the deal %(deal)s": "打开商机「%(deal)s」",
    # tasks/form.html: a task an approval sent back
    "Sent back by %(name)s on %(when)s": "已由 %(name)s 于 %(when)s 退回",
    "No comment was given.": "未填写意见。",
    "%(step)s sent this task back to you. Change what the comment asks for and complete it "
    "again.": "「%(step)s」把此任务退回给了你。请按意见修改后再次提交。",
}
