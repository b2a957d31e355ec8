# ruff: noqa: RUF001, RUF002 - full-width Chinese punctuation in the Chinese templates
"""The designer's problem messages in the reader's language: English as made, Simplified
Chinese from the table below (`localized`).

Design.  Every message has an entry in `WORDING`: a stable key -> (English template, Chinese
template), the two with the same named placeholders (`{role}`).  Two ways lead to an entry:

- keyed: the checks of engine.core.lint word their problems with `say(key, **args)`, which
  fills the English template (so the English lives here, next to its Chinese, and the two
  cannot drift apart) and remembers the key and the arguments on the Problem.  Localizing is
  then a table lookup, with no parsing of English;
- recognised: a few texts reach the Check from modules that word them for other readers too
  (engine.core.camunda's findings, the translations catalog, form `x-rules`, the expression
  checker, the SLA parser, engine.core.definitions' deploy errors).  They stay English
  there, and their entry is found by matching the text against the English templates (each
  placeholder matches any text; the most specific template wins).  A test sweeps the
  corpora and broken files, so a reworded English text that no longer matches shows up.

Placeholders named in `_PHRASES` (what, detail, why, kind, ...) hold engine wording
themselves: an argument that is a `Said`, or a text that matches an entry, is localized in
turn ("{what} {text}: {detail}": the "what" comes from engine.core.script_check, the detail
from the expression checker).  Every other placeholder is the designer's own content (a
name, an id, a quoted expression) or a library's text (lxml, SpiffWorkflow, json), shown as
it is inside a Chinese frame ("XML 格式不正确：<lxml text>").  SpiffWorkflow's own parse
errors never reach a reader as they are: engine.core.lint.library words each one it knows
with an entry here, and frames the rest ("parse.library"), cleaned of Python.

The element prefix of engine.core.lint.problems.named ("Prepare quote (task_x): ...") is
kept on the Problem (`subject`) and put back with a Chinese colon after localizing.

Pure: no database, no clock.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from engine.core import graph_words
from engine.core.translations import CHINESE, locale_of

if TYPE_CHECKING:
    from engine.core.lint.problems import Problem

__all__ = [
    "WORDING",
    "Said",
    "localized",
    "placeholders",
    "recognised",
    "say",
    "unworded",
    "word",
]

# Placeholders whose argument is engine wording (localized in turn), not the designer's text.
_PHRASES = frozenset(
    {"what", "detail", "why", "kind", "reason", "nearest", "position", "todo", "trigger", "repair"}
)
_MAX_DEPTH = 4
# A phrase argument that is a quoted token of code ("'import'") or nothing is no wording.
_QUOTED = re.compile(r"|'[^']*'")
# Entries only ever made with `say`: their templates are too bare to recognise a text by.
_KEYED_ONLY = frozenset(
    {
        "parse.library",
        "expression.unsafe",
        "translations.problem",
        "timer.invalid",
        "severity.error",
        "severity.warning",
        "incident.library",
    }
)

# key -> (English, Chinese).  Keys are unique and stable: renaming one breaks nothing but
# this table; the English is what the checks show an English reader, byte for byte.
WORDING: dict[str, tuple[str, str]] = {
    # --- files (engine.core.lint, engine.core.definitions) -----------------------------
    "file.not_utf8": ("not UTF-8 text ({library})", "不是 UTF-8 文本（{library}）"),
    "file.no_bpmn": ("no .bpmn file given", "没有提供 .bpmn 文件"),
    # {repair}: engine.core.xml_repair's sentence (its Chinese is engine.core.graph_words')
    "file.repaired": ("the file was read with a repair: {repair}", "文件经修复后读取：{repair}"),
    "file.not_xml": ("not well-formed XML: {library}", "XML 格式不正确：{library}"),
    "file.not_xsd": (
        "not valid BPMN 2.0 (XSD): {library}",
        "不符合 BPMN 2.0 架构（XSD）：{library}",
    ),
    "file.not_json": ("not valid JSON: {library}", "不是有效的 JSON：{library}"),
    "file.missing": ("no such file or folder", "没有这个文件或文件夹"),
    "file.same_name": (
        "two different files share this name ({first} and {second})",
        "两个不同的文件同名（{first} 和 {second}）",
    ),
    "file.too_large": (
        "too large: {size} bytes, at most {limit} per file",
        "文件过大：{size} 字节，每个文件最多 {limit} 字节",
    ),
    "file.too_many_elements": (
        "too many elements: about {count}, at most {limit} per file",
        "元素过多：约 {count} 个，每个文件最多 {limit} 个",
    ),
    "files.too_large": (
        "the files weigh {size} bytes together, at most {limit}",
        "这些文件合计 {size} 字节，最多 {limit} 字节",
    ),
    "files.no_executable": (
        'no executable process: set isExecutable="true" on the process to run it',
        '没有可执行的流程：请在流程上设置 isExecutable="true" 以运行它',
    ),
    "file.cannot_parse": ("cannot be parsed: {library}", "无法解析：{library}"),
    "file.no_process": (
        "this file holds no process, so there is nothing to run (a collaboration whose pools "
        "hold no process, or only a drawing): import the file that holds the process, or draw "
        "the process's steps in a pool",
        "此文件中没有流程，因此没有可运行的内容（泳池中不含流程的协作图，或只是一张图）："
        "请导入包含该流程的文件，或在泳池中画出流程的步骤",
    ),
    "file.no_process_beside": (
        "this file holds no process: nothing of it runs (the other files hold the processes)",
        "此文件中没有流程：其中没有任何内容会运行（流程在其他文件中）",
    ),
    "file.not_xsd_drawing": (
        "the diagram part (how the model is drawn) is not valid BPMN 2.0 (XSD), which does not "
        "stop the process from running: {library}",
        "图形部分（模型的绘制方式）不符合 BPMN 2.0 架构（XSD），但这不影响流程运行：{library}",
    ),
    # SpiffWorkflow's parse error that no entry of engine.core.lint.library words: its text
    # cleaned of Python (engine.core.lint.library.cleaned), or nothing when none is left.
    "parse.library": (
        "salesflow cannot run this as it is modelled: {detail}",
        "salesflow 无法按目前的建模运行它：{detail}",
    ),
    "parse.unknown": (
        "salesflow cannot run this element as it is modelled: redraw it with the elements of "
        "the designer's palette",
        "salesflow 无法按目前的建模运行该元素：请用设计器工具栏中的元素重新绘制它",
    ),
    # --- processes, tasks, lanes (engine.core.lint.rules) ------------------------------
    "process.not_executable": (
        'the process is marked as not executable (isExecutable="false"), so nothing of it can '
        'run: mark it executable in your modeler (isExecutable="true"), then fix what this '
        "check reports",
        '该流程被标记为不可执行（isExecutable="false"），因此无法运行：请在建模工具中把它标记为'
        '可执行（isExecutable="true"），然后修正本检查报告的问题',
    ),
    "process.drawing_only": (
        'the process is marked as not executable (isExecutable="false"): it is kept as a '
        "drawing beside the processes that run, and its elements are not checked",
        '该流程被标记为不可执行（isExecutable="false"）：它作为图示与可运行的流程一起保留，'
        "其中的元素不做检查",
    ),
    "task.no_name": (
        "the task has no name: name it, a rep sees it by its name in the task list and on "
        "the deal's chart",
        "该任务没有名称：请为它命名，销售代表在任务列表和商机流程图上按名称认出它",
    ),
    "element.unsupported": (
        "a {kind} is a BPMN element type salesflow cannot run: replace it with one it runs "
        "(the designer's palette shows them)",
        "{kind}是 salesflow 无法运行的 BPMN 元素类型："
        "请换成它能运行的元素（设计器的工具栏中列出了这些元素）",
    ),
    "service_task.no_service": (
        "a service task calls an outside service, and it says no HTTP request salesflow can "
        "make: give it a connector in the side panel (method, URL, headers, body, result), "
        "or use a script task, or a user task for the person who does it",
        "服务任务会调用外部服务，但没有写明 salesflow 能发出的 HTTP 请求：请在侧边栏为它设置连接器"
        "（方法、URL、请求头、请求体、结果），或改用脚本任务，或由执行者完成的用户任务",
    ),
    "connector.broken": (
        "the connector cannot run: {detail}",
        "连接器无法运行：{detail}",
    ),
    # --- what is wrong in a connector as written (engine.core.connectors) ------------------
    "connector.not_number": (
        "{attribute} '{text}' is not a number",
        "{attribute} 的值「{text}」不是数字",
    ),
    "connector.out_of_range": (
        "{attribute} must be between {low} and {high}, not {value}",
        "{attribute} 必须在 {low} 到 {high} 之间，而不是 {value}",
    ),
    "connector.not_duration": (
        "'{text}' is not a duration such as PT30S",
        "「{text}」不是 PT30S 这样的时长",
    ),
    "connector.method": (
        "method '{method}' is not one of {methods}",
        "请求方法「{method}」不在 {methods} 之中",
    ),
    "connector.unnamed": ("a {tag} without a name", "有一个 {tag} 没有名称"),
    "connector.line": (
        "'{line}' is not like 'name {sign} value'",
        "「{line}」不符合「名称 {sign} 值」的格式",
    ),
    "connector.camunda_kind": (
        "the Camunda connector '{ident}' is not an http-connector",
        "Camunda 连接器「{ident}」不是 http-connector",
    ),
    "connector.retry_cycle": (
        "the retry cycle '{cycle}' is not like R3/PT10S",
        "重试周期「{cycle}」不符合 R3/PT10S 的格式",
    ),
    "connector.juel": (
        "'{text}' is JUEL salesflow does not translate ('{part}')",
        "「{text}」是 salesflow 无法转换的 JUEL 表达式（「{part}」）",
    ),
    "connector.output": (
        "the output '{text}' maps nothing salesflow can read: use ${{response}}",
        "输出「{text}」没有映射 salesflow 能读取的内容：请使用 ${{response}}",
    ),
    "connector.no_url": ("the connector has no URL", "连接器没有 URL"),
    "connector.expression_refused": (
        "the expression of the connector's {part} cannot be used: {detail}",
        "连接器 {part} 中的表达式无法使用：{detail}",
    ),
    "connector.url_scheme": (
        "the URL '{url}' does not start with http:// or https:// and a host",
        "URL「{url}」不是以 http:// 或 https:// 加主机名开头",
    ),
    "connector.host_refused": (
        "the connector calls the host '{host}', which an admin has not allowed (Admin > "
        "Connectors): ask an admin to allow it, or call another host",
        "连接器调用的主机「{host}」未经管理员允许（管理 > 连接器）："
        "请让管理员允许它，或调用其他主机",
    ),
    "connector.unknown_operator": (
        "the service task calls the operator '{name}', which no admin has mapped to an HTTP "
        "request (Connectors page): ask an admin to map it, or give the task a connector",
        "服务任务调用的操作「{name}」尚未由管理员映射为 HTTP 请求（连接器页面）："
        "请让管理员映射它，或为该任务设置连接器",
    ),
    "connector.host_at_run_time": (
        "the connector's host comes from the deal's data: it is checked against the allowed "
        "hosts when the call is made, and a host not allowed then stops the deal",
        "连接器的主机来自商机数据：调用时才会对照允许的主机检查，届时未被允许的主机会使商机停止",
    ),
    "data_store.unsupported": (
        "data stores are not supported: keep the data in the deal",
        "不支持数据存储：请把数据保存在商机中",
    ),
    "lane.none": (
        "has no lane: the deal's owner will get this task (to give it to the people of a "
        "role instead, put it in a lane named after the role)",
        "不在任何泳道中：该任务将交给商机负责人（如要交给某个角色的人员，请把它放进以该角色命名的泳道）",
    ),
    "lane.no_name": (
        "sits in the lane '{lane}', which has no name: the deal's owner will get this task (to "
        "give it to the people of a role instead, name the lane after the role)",
        "所在的泳道「{lane}」没有名称：该任务将交给商机负责人（如要交给某个角色的人员，"
        "请以该角色为泳道命名）",
    ),
    "lane.role_not_held": (
        "no active user holds the role '{role}' yet: the tasks of this lane wait in the "
        "role's queue until an admin gives someone the role",
        "目前没有在职用户拥有角色「{role}」：在管理员把该角色分配给某人之前，"
        "此泳道的任务会在该角色的队列中等待",
    ),
    "lane.standard_role_not_held": (
        "no active user holds the role '{role}', a standard role, yet: the tasks of this "
        "lane wait in the role's queue until an admin gives someone the role",
        "目前没有在职用户拥有标准角色「{role}」：在管理员把该角色分配给某人之前，"
        "此泳道的任务会在该角色的队列中等待",
    ),
    "start_roles.not_held": (
        "no active user holds the role '{role}' that {property} names: until an admin gives "
        "someone the role, its people cannot start the process",
        "没有在职用户拥有 {property} 中的角色「{role}」：在管理员把该角色分配给某人之前，"
        "无人能以该角色启动此流程",
    ),
    # --- gateways ----------------------------------------------------------------------
    "gateway.foreign_default": (
        "the default flow '{flow}' does not leave this gateway: make one of the gateway's own "
        "outgoing flows its default",
        "默认流「{flow}」并非从此网关引出：请把该网关自己引出的某条流设为默认流",
    ),
    "flow.no_condition": (
        "leaves the {kind} '{gateway}' without a condition and is not its default flow: {todo}",
        "从{kind}「{gateway}」引出，但既没有条件，也不是它的默认流：{todo}",
    ),
    "gateway.flows_no_condition": (
        "the flows {flows} leave this {kind} without a condition, and none of them is its "
        "default flow: {todo}",
        "流 {flows} 从该{kind}引出，但都没有条件，也都不是它的默认流：{todo}",
    ),
    "todo.condition_or_default": (
        "give it a condition, or make it the gateway's default flow",
        "请为它设置条件，或把它设为该网关的默认流",
    ),
    "todo.condition": (
        "give it a condition (the gateway has its default flow already)",
        "请为它设置条件（该网关已有默认流）",
    ),
    "todo.conditions_or_default": (
        "give each a condition, or make one of them the gateway's default flow and give the "
        "others a condition",
        "请为每条流设置条件，或把其中一条设为该网关的默认流，并为其余的流设置条件",
    ),
    "todo.conditions": (
        "give each a condition (the gateway has its default flow already)",
        "请为每条流设置条件（该网关已有默认流）",
    ),
    "kind.exclusive_gateway": ("exclusive gateway", "排他网关"),
    "kind.inclusive_gateway": ("inclusive gateway", "包容网关"),
    "gateway.no_default": (
        "the exclusive gateway has no default flow and its conditions may all be false (the "
        "deal would stop in error): mark one flow as the default",
        "该排他网关没有默认流，且其条件可能全部为假（商机会因出错而停止）：请把其中一条流设为默认流",
    ),
    "gateway.inclusive_no_default": (
        "the inclusive gateway has no default flow and its conditions may all be false (the "
        "deal would stop in error): mark one flow as the default",
        "该包容网关没有默认流，且其条件可能全部为假（商机会因出错而停止）：请把其中一条流设为默认流",
    ),
    # --- the shape of the flow (engine.core.lint.structure) ----------------------------
    "node.implicit_split": (
        "has {count} outgoing flows ({flows}), and salesflow does not split the path after a "
        "task or an event by itself: add a parallel gateway after '{name}' to split its "
        "{count} outgoing flows",
        "有 {count} 条引出的流（{flows}），salesflow 不会在任务或事件之后自行分出多条路径："
        "请在「{name}」之后添加一个并行网关，由它分出这 {count} 条流",
    ),
    "node.conditional_split": (
        "has {count} outgoing flows ({flows}), some with a condition, and salesflow weighs "
        "conditions only at a gateway: add an exclusive gateway (one path) or an inclusive "
        "gateway (several paths) after '{name}' and move the conditions onto its flows",
        "有 {count} 条引出的流（{flows}），其中一些带有条件，而 salesflow 只在网关处判断条件："
        "请在「{name}」之后添加排他网关（走一条路径）或包容网关（走多条路径），并把条件移到它引出的流上",
    ),
    "scope.empty": (
        "the sub-process is empty: draw its steps inside it (one start event, the work, an "
        "end event), or make it a call activity that calls another process",
        "该子流程是空的：请在其中画出步骤（一个开始事件、具体工作、一个结束事件），"
        "或把它改为调用其他流程的调用活动",
    ),
    "scope.starts": (
        "the sub-process has {count} start events: a sub-process starts at exactly one, so "
        "keep one and lead the others' flows from it",
        "该子流程有 {count} 个开始事件：子流程只能从一个开始事件开始，请只保留一个，"
        "其余的流都从它引出",
    ),
    "scope.no_end": (
        "the sub-process has no end event: add one where its work is done",
        "该子流程没有结束事件：请在其工作完成处添加一个",
    ),
    "scope.ad_hoc_events": (
        "an ad-hoc sub-process holds no start or end events (its tasks are picked as needed): "
        "remove them",
        "临时子流程中不能有开始或结束事件（其中的任务按需选择执行）：请删除它们",
    ),
    "scope.ad_hoc_sequential": (
        'a sequential ad-hoc sub-process cannot be run: make it parallel (ordering="Parallel")',
        '无法运行顺序执行的临时子流程：请把它改为并行（ordering="Parallel"）',
    ),
    "event.missing_message": (
        "refers to the message '{ref}', which no file of the definition declares: pick a "
        "message the file declares, or declare this one",
        "引用了消息「{ref}」，但定义中没有任何文件声明它：请选择文件中已声明的消息，或声明这个消息",
    ),
    "event.missing_signal": (
        "refers to the signal '{ref}', which no file of the definition declares: pick a "
        "signal the file declares, or declare this one",
        "引用了信号「{ref}」，但定义中没有任何文件声明它：请选择文件中已声明的信号，或声明这个信号",
    ),
    "event.missing_error": (
        "refers to the error '{ref}', which no file of the definition declares: pick an "
        "error the file declares, or declare this one",
        "引用了错误「{ref}」，但定义中没有任何文件声明它：请选择文件中已声明的错误，或声明这个错误",
    ),
    "event.missing_escalation": (
        "refers to the escalation '{ref}', which no file of the definition declares: pick an "
        "escalation the file declares, or declare this one",
        "引用了升级「{ref}」，但定义中没有任何文件声明它：请选择文件中已声明的升级，或声明这个升级",
    ),
    "event.no_condition": (
        "the conditional event has no condition: write one",
        "该条件事件没有条件：请填写一个",
    ),
    "boundary.no_trigger": (
        "the boundary event has no trigger (a timer, message, signal, error, escalation, "
        "condition or cancel): give it one, or remove it",
        "该边界事件没有触发条件（计时器、消息、信号、错误、升级、条件或取消）：请为它指定一个，或删除它",
    ),
    "boundary.unsupported": (
        "the boundary event is a {trigger} event, which salesflow does not run: use a timer, "
        "message, signal, error, escalation, conditional or cancel event instead, or remove it",
        "该边界事件是{trigger}事件，salesflow 不运行这种事件：请改用计时器、消息、信号、错误、"
        "升级、条件或取消事件，或删除它",
    ),
    "boundary.cancel_outside_transaction": (
        "a cancel event works only on a transaction: attach it to a transaction, or use "
        "another event",
        "取消事件只能用于事务：请把它附加到事务上，或改用其他事件",
    ),
    "trigger.compensation": ("compensation", "补偿"),
    "trigger.link": ("link", "链接"),
    "trigger.terminate": ("terminate", "终止"),
    "trigger.multiple": ("multiple-trigger", "多重触发"),
    "data.input_unresolved": (
        "its data associations read from {refs}, which salesflow cannot hand to a task (only "
        "data objects and data stores can be): link them to a data object, or remove them "
        "(every task sees the deal's data anyway)",
        "它的数据关联从 {refs} 读取数据，salesflow 无法把它们交给任务"
        "（只能使用数据对象和数据存储）："
        "请把这些关联连到数据对象上，或删除它们（每个任务本来就能看到商机的数据）",
    ),
    "data.output_unresolved": (
        "its data associations write to {refs}, which salesflow cannot fill from a task (only "
        "data objects and data stores can be): link them to a data object, or remove them "
        "(what a task sets is kept in the deal's data anyway)",
        "它的数据关联向 {refs} 写入数据，salesflow 无法从任务填写它们"
        "（只能使用数据对象和数据存储）："
        "请把这些关联连到数据对象上，或删除它们（任务设置的数据本来就会保存在商机中）",
    ),
    "data.out_of_reach": (
        "uses the data object '{ref}', which is declared neither in its own sub-process nor "
        "in the level just around it: declare the data object there (salesflow looks no "
        "further out)",
        "使用了数据对象「{ref}」，但它既没有在所在子流程中声明，也没有在紧邻的外层声明："
        "请在那里声明该数据对象（salesflow 不会再往外查找）",
    ),
    # --- forms, stages, SLAs, decisions, calls -----------------------------------------
    "form.missing": (
        "the form '{form}' ({property}) is not among the files: add it",
        "表单「{form}」（{property}）不在这些文件中：请添加它",
    ),
    "form.problem": ("the form '{form}': {detail}", "表单「{form}」：{detail}"),
    "form.expected": (
        "the user task has no form while the process's other user tasks have one: name its "
        "form schema file in the property '{property}'",
        "该用户任务没有表单，而流程中的其他用户任务都有：请在属性「{property}」中填写它的表单架构文件",
    ),
    "form.not_object": ("a form schema must be a JSON object", "表单架构必须是 JSON 对象"),
    "form.bad_schema": (
        "not a valid JSON schema at {where}: {library}",
        "{where} 处不是有效的 JSON 架构：{library}",
    ),
    "form.not_deployed": (
        "form file '{form}' ({property}) was not deployed with the process",
        "表单文件「{form}」（{property}）没有随流程一起部署",
    ),
    "stage.unknown": (
        "the stage '{stage}' is neither a stage of the sales process nor one the translations "
        "file of the process declares{nearest}",
        "阶段「{stage}」既不是销售流程的阶段，也不是该流程的翻译文件声明的阶段{nearest}",
    ),
    "sla.escalation_unknown": (
        "the SLA's escalation role '{role}' ({property}) is neither a lane of the process nor "
        "a role of the team{nearest}",
        "SLA 的升级角色「{role}」（{property}）既不是流程中的泳道，也不是团队的角色{nearest}",
    ),
    "nearest.did_you_mean": (": did you mean '{name}'?", "：是否想写「{name}」？"),
    "nearest.known": (" (known: {names})", "（已知：{names}）"),
    "decision.none": (
        "the business rule task names no decision (calledDecisionId)",
        "该业务规则任务没有指定决策（calledDecisionId）",
    ),
    "decision.missing": (
        "the decision '{decision}' is not among the DMN files",
        "决策「{decision}」不在这些 DMN 文件中",
    ),
    "decision.missing_known": (
        "the decision '{decision}' is not among the DMN files (there are: {known})",
        "决策「{decision}」不在这些 DMN 文件中（现有：{known}）",
    ),
    "decision.not_first": (
        "the decision '{decision}' is not the first decision of {file}: salesflow reads one "
        "decision per DMN file, so give it a file of its own",
        "决策「{decision}」不是 {file} 的第一个决策：salesflow 每个 DMN 文件只读取一个决策，"
        "请把它放进单独的文件",
    ),
    "call.none": (
        "the call activity names no process (calledElement)",
        "该调用活动没有指定流程（calledElement）",
    ),
    "call.not_executable": (
        "the called process '{process}' is marked as not executable (isExecutable=\"false\"): "
        "mark it executable in your modeler",
        '被调用的流程「{process}」被标记为不可执行（isExecutable="false"）：请在建模工具中把它标记为可执行',
    ),
    "call.missing": (
        "the called process '{process}' is not among the files",
        "被调用的流程「{process}」不在这些文件中",
    ),
    "scope.no_start": (
        "the {kind} has no start event: add one",
        "该{kind}没有开始事件：请添加一个",
    ),
    "node.unreachable": (
        "cannot be reached: no sequence flow from a start event leads to it",
        "无法到达：没有从开始事件出发的顺序流通向它",
    ),
    # --- timers (engine.core.lint.timers) ----------------------------------------------
    "timer.empty": (
        "the timer {kind} is empty: fill it in, or remove the timer",
        "计时器的{kind}为空：请填写它，或删除该计时器",
    ),
    "timer.no_time": (
        "the timer has no time: give it a duration, a date or a cycle",
        "该计时器没有设定时间：请为它设置时长、日期或周期",
    ),
    "timer.bare_iso": (
        'the timer {kind} {text} is not an expression: write it as quoted text, "{quoted}"',
        '计时器的{kind} {text} 不是表达式：请写成带引号的文本 "{quoted}"',
    ),
    "timer.not_text": (
        "the timer {kind} {text} is not ISO 8601 text",
        "计时器的{kind} {text} 不是 ISO 8601 文本",
    ),
    "timer.invalid": ("the timer {kind} {text} {reason}", "计时器的{kind} {text} {reason}"),
    "timer.unknown_names": (
        "the timer {kind} {text} uses {names}, which no form, script, decision or loop of the "
        "process sets: the timer fails unless the deal's data has it",
        "计时器的{kind} {text} 用到了 {names}，但流程中没有任何表单、脚本、决策或循环设置它："
        "除非商机数据中有它，否则计时器会失败",
    ),
    "timer.not_duration": (
        "is not an ISO 8601 duration (like 'P3D' or 'PT4H')",
        "不是 ISO 8601 时长（如 'P3D' 或 'PT4H'）",
    ),
    "timer.not_cycle": (
        "is not an ISO 8601 repeating interval (like 'R3/PT1H')",
        "不是 ISO 8601 重复间隔（如 'R3/PT1H'）",
    ),
    "timer.no_repeat_duration": (
        "has no duration between its repetitions",
        "在两次重复之间没有时长",
    ),
    "timer.not_valid_iso": ("is not a valid ISO 8601 {kind}", "不是有效的 ISO 8601 {kind}"),
    "word.duration": ("duration", "时长"),
    "word.date": ("date", "日期"),
    "word.cycle": ("cycle", "周期"),
    "word.date_time": ("date-time", "日期时间"),
    "word.repeating_interval": ("repeating interval", "重复间隔"),
    "word.process": ("process", "流程"),
    "word.sub_process": ("sub-process", "子流程"),
    "word.expression": ("expression", "表达式"),
    "word.title": ("title", "标题"),
    "word.lane": ("lane", "泳道"),
    "word.participant": ("participant", "参与者"),
    "word.task": ("task", "任务"),
    "word.user_task": ("userTask", "用户任务"),
    "word.manual_task": ("manualTask", "人工任务"),
    "word.script_task": ("scriptTask", "脚本任务"),
    "word.service_task": ("serviceTask", "服务任务"),
    "word.send_task": ("sendTask", "发送任务"),
    "word.receive_task": ("receiveTask", "接收任务"),
    "word.business_rule_task": ("businessRuleTask", "业务规则任务"),
    "word.call_activity": ("callActivity", "调用活动"),
    "word.sub_process_tag": ("subProcess", "子流程"),
    "word.transaction": ("transaction", "事务"),
    "word.ad_hoc_sub_process": ("adHocSubProcess", "临时子流程"),
    "word.start_event": ("startEvent", "开始事件"),
    "word.end_event": ("endEvent", "结束事件"),
    "word.catch_event": ("intermediateCatchEvent", "中间捕获事件"),
    "word.throw_event": ("intermediateThrowEvent", "中间抛出事件"),
    "word.boundary_event": ("boundaryEvent", "边界事件"),
    "word.exclusive_gateway": ("exclusiveGateway", "排他网关"),
    "word.inclusive_gateway": ("inclusiveGateway", "包容网关"),
    "word.parallel_gateway": ("parallelGateway", "并行网关"),
    "word.event_gateway": ("eventBasedGateway", "事件网关"),
    "word.complex_gateway": ("complexGateway", "复杂网关"),
    "word.sequence_flow": ("sequenceFlow", "顺序流"),
    "word.message_flow": ("messageFlow", "消息流"),
    "word.text_annotation": ("textAnnotation", "文本注释"),
    "word.data_object": ("dataObjectReference", "数据对象"),
    "word.data_store": ("dataStoreReference", "数据存储"),
    "word.group": ("group", "分组"),
    "word.description": ("description", "说明"),
    # --- expressions (engine.core.lint.deep; engine.core.script_check's "what") ---------
    "expression.unsafe": ("{what} {text}: {detail}", "{what} {text}：{detail}"),
    "what.flow_condition": ("condition of the flow to '{target}'", "流向「{target}」的条件"),
    "what.script": ("script", "脚本"),
    "what.pre_script": ("pre-script", "前置脚本"),
    "what.post_script": ("post-script", "后置脚本"),
    "what.loop_condition": ("loop condition", "循环条件"),
    "what.loop_cardinality": ("loop cardinality", "循环次数"),
    "what.completion_condition": ("completion condition", "完成条件"),
    "what.timer_date": ("timer date", "计时器日期"),
    "what.timer_duration": ("timer duration", "计时器时长"),
    "what.timer_cycle": ("timer cycle", "计时器周期"),
    "what.event_condition": ("event condition", "事件条件"),
    "what.message_payload": ("message payload", "消息内容"),
    "what.signal_payload": ("signal payload", "信号内容"),
    "what.error_payload": ("error payload", "错误内容"),
    "what.escalation_payload": ("escalation payload", "升级内容"),
    "what.event_payload": ("event payload", "事件内容"),
    "what.correlation": ("correlation '{name}'", "关联「{name}」"),
    "what.service_parameter": ("service parameter '{name}'", "服务参数「{name}」"),
    "what.decision_input": (
        "decision table '{table}' rule {row}, input '{column}'",
        "决策表「{table}」第 {row} 条规则的输入「{column}」",
    ),
    "what.decision_output": (
        "decision table '{table}' rule {row}, output '{column}'",
        "决策表「{table}」第 {row} 条规则的输出「{column}」",
    ),
    # --- the expression checker (engine.core.expressions.check) ------------------------
    "expr.not_text": ("expected text for the {kind}, got {type}", "{kind}应为文本，实际为 {type}"),
    "expr.too_long": (
        "the {kind} is longer than {limit} characters",
        "{kind}超过 {limit} 个字符",
    ),
    "expr.cannot_parse": ("cannot parse the {kind}: {library}", "无法解析{kind}：{library}"),
    "expr.syntax": (
        "syntax error at line {line}, column {column}: {library}",
        "第 {line} 行第 {column} 列有语法错误：{library}",
    ),
    "expr.too_deep": ("the {kind} is nested too deeply", "{kind}嵌套过深"),
    "expr.at": (
        "{detail} (line {line}, column {column})",
        "{detail}（第 {line} 行，第 {column} 列）",
    ),
    "expr.not_allowed": ("{what} is not allowed", "不允许使用 {what}"),
    "expr.name": ("name '{name}' is not allowed", "不允许使用名称「{name}」"),
    "expr.builtin_assigned": (
        "assigning to '{name}' is not allowed: it is a builtin",
        "不允许给「{name}」赋值：它是内置名称",
    ),
    "expr.attribute_called": (
        "attribute '{name}' may only be called, as in x.{call}()",
        "属性「{name}」只能被调用，如 x.{call}()",
    ),
    "expr.star": (
        "'*' unpacking is only allowed in call arguments",
        "'*' 解包只能用于调用参数",
    ),
    "expr.call": ("calling '{name}' is not allowed", "不允许调用「{name}」"),
    "expr.callee": (
        "only builtins and methods can be called",
        "只能调用内置函数和方法",
    ),
    "expr.double_star": ("'**' unpacking is not allowed", "不允许使用 '**' 解包"),
    "expr.slice_assignment": ("slice assignment is not allowed", "不允许切片赋值"),
    "expr.format_spec": (
        "a format spec must be constant, as in f'{{x:.2f}}'",
        "格式说明必须是常量，如 f'{{x:.2f}}'",
    ),
    "expr.format_width": (
        "format width in '{spec}' is over {limit}",
        "「{spec}」中的格式宽度超过 {limit}",
    ),
    "expr.attribute": ("attribute '{name}' is not allowed", "不允许使用属性「{name}」"),
    "word.annotated_assignment": ("an annotated assignment", "带类型注解的赋值"),
    # --- SLAs (engine.core.calendar) -----------------------------------------------------
    "sla.problem": ("SLA: {detail}", "SLA：{detail}"),
    "sla.not_duration": (
        "'{text}' is not an ISO 8601 duration such as P3D or PT4H",
        "「{text}」不是 ISO 8601 时长（如 P3D 或 PT4H）",
    ),
    "sla.months": (
        "'{text}': months and years are not allowed in an SLA; write days (P30D)",
        "「{text}」：SLA 中不允许使用月和年，请写成天数（P30D）",
    ),
    "sla.zero": (
        "'{text}' is no time at all; an SLA needs a length",
        "「{text}」时长为零；SLA 需要一段时长",
    ),
    "sla.escalation_alone": (
        "'{escalate}' needs an '{sla}' duration as well",
        "「{escalate}」还需要一个「{sla}」时长",
    ),
    "sla.human_only": (
        "an SLA applies to user and manual tasks only",
        "SLA 只适用于用户任务和人工任务",
    ),
    "sla.role_unknown": (
        "SLA: '{property}' names the role '{role}', which is neither a lane of the process "
        "nor a role of the team",
        "SLA：「{property}」指定的角色「{role}」既不是流程中的泳道，也不是团队的角色",
    ),
    # --- form rules (engine.core.forms.rule_problems) ------------------------------------
    "rules.not_list": ("x-rules is a list of rules", "x-rules 应是规则列表"),
    "rules.not_object": ("x-rules[{n}] is not an object", "x-rules[{n}] 不是对象"),
    "rules.operator": (
        "x-rules[{n}]: 'rule' is one of {operators}",
        "x-rules[{n}]：'rule' 应为以下之一：{operators}",
    ),
    "rules.field": (
        "x-rules[{n}]: '{key}' names no field of the form ({path})",
        "x-rules[{n}]：'{key}' 指向的不是表单中的字段（{path}）",
    ),
    "rules.message": (
        'x-rules[{n}]: \'message\' is a text or {{"en": ..., "zh": ...}}',
        'x-rules[{n}]：\'message\' 应为文本或 {{"en": ..., "zh": ...}}',
    ),
    # --- translations files (engine.core.translations) ---------------------------------
    "translations.problem": ("{key}: {detail}", "{key}：{detail}"),
    "translations.no_bpmn": (
        "there is no {file} for these translations",
        "这些翻译没有对应的 {file}",
    ),
    "translations.no_element": (
        "no element '{element}' in the BPMN file",
        "BPMN 文件中没有元素「{element}」",
    ),
    "translations.no_instructions": (
        "the element has no instructions",
        "该元素没有操作说明",
    ),
    "translations.untranslated_element": (
        "no translation of the {kind} '{name}'",
        "{kind}「{name}」没有翻译",
    ),
    "translations.untranslated_instructions": (
        "no translation of the instructions",
        "操作说明没有翻译",
    ),
    "translations.unused_stage": (
        "no element of the BPMN file is in stage '{stage}'",
        "BPMN 文件中没有元素处于阶段「{stage}」",
    ),
    "translations.untranslated_stage": (
        "no translation of the stage '{stage}'",
        "阶段「{stage}」没有翻译",
    ),
    "translations.unused_form": (
        "no form '{form}' is used by the BPMN file",
        "BPMN 文件没有使用表单「{form}」",
    ),
    "translations.untranslated_form": (
        "no translation of the form '{form}'",
        "表单「{form}」没有翻译",
    ),
    "translations.untranslated_form_text": (
        "no translation of the form's {kind}",
        "表单的{kind}没有翻译",
    ),
    "translations.no_field": ("the form has no field '{field}'", "表单中没有字段「{field}」"),
    "translations.untranslated_text": ("no translation of the {kind}", "{kind}没有翻译"),
    "translations.no_choice": ("no choice '{choice}'", "没有选项「{choice}」"),
    "translations.untranslated_choice": (
        "no translation of the choice '{choice}'",
        "选项「{choice}」没有翻译",
    ),
    "translations.not_object": ("{where} must be a JSON object", "{where} 必须是 JSON 对象"),
    "translations.unknown_key": (
        "{where}: unknown key (one of {keys})",
        "{where}：未知的键（应为以下之一：{keys}）",
    ),
    "translations.not_text": ("{where} must be a text", "{where} 必须是文本"),
    "translations.file_not_object": (
        "a translations file must be a JSON object",
        "翻译文件必须是 JSON 对象",
    ),
    "translations.wrong_locale": (
        "locale: '{locale}' is not the language of the file name",
        "locale：「{locale}」与文件名中的语言不符",
    ),
    # --- Camunda extensions (engine.core.camunda) --------------------------------------
    "camunda.juel_condition": (
        "the condition '{condition}' is JUEL (Camunda's expression language): salesflow "
        "translates comparisons of data fields, but not '{part}': write the condition in "
        "Python, for example 'amount >= 1000 and approved'",
        "条件「{condition}」是 JUEL（Camunda 的表达式语言）：salesflow 能转换数据字段之间的"
        "比较，但不能转换「{part}」：请用 Python 编写该条件，例如「amount >= 1000 and approved」",
    ),
    "camunda.juel_timer": (
        "the timer '{timer}' is a JUEL expression: write it in Python",
        "计时器「{timer}」是 JUEL 表达式：请用 Python 编写",
    ),
    "camunda.script_language": (
        "the script is written in '{language}': scripts here are Python (the safe subset "
        "salesflow runs)",
        "该脚本用「{language}」编写：这里的脚本使用 Python（salesflow 运行的安全子集）",
    ),
    "camunda.java": (
        "camunda:{attribute} '{value}' calls Java code, which salesflow cannot run",
        "camunda:{attribute}「{value}」会调用 Java 代码，salesflow 无法运行",
    ),
    "camunda.external_task_topic": (
        "an external task (topic '{topic}') waits for a Camunda worker, and salesflow has none",
        "外部任务（主题「{topic}」）需要 Camunda 工作进程，而 salesflow 没有",
    ),
    "camunda.external_task": (
        "an external task waits for a Camunda worker, and salesflow has none",
        "外部任务需要 Camunda 工作进程，而 salesflow 没有",
    ),
    "camunda.script_resource": (
        "the script lives in another file ('{file}'): put it in the task",
        "脚本在另一个文件中（「{file}」）：请把它写进任务",
    ),
    "camunda.form_key": (
        "camunda:formKey '{key}' is a Camunda form, which salesflow cannot show: the task has "
        "no form (give it a JSON schema with the formJsonSchemaFilename property)",
        "camunda:formKey「{key}」是 Camunda 表单，salesflow 无法显示：该任务没有表单"
        "（请用 formJsonSchemaFilename 属性为它指定 JSON 架构）",
    ),
    "camunda.juel_decision": (
        "the decision '{decision}' is a JUEL expression: name the decision",
        "决策「{decision}」是 JUEL 表达式：请写出决策的名称",
    ),
    "camunda.group_expression": (
        "camunda:candidateGroups '{groups}' is an expression, not a role: put the task in a "
        "lane named after the role that does it",
        "camunda:candidateGroups「{groups}」是表达式而不是角色：请把任务放进以负责角色命名的泳道",
    ),
    "camunda.ignored_why": (
        "camunda:{attribute} is ignored: {why}",
        "camunda:{attribute} 被忽略：{why}",
    ),
    "camunda.ignored": ("camunda:{attribute} is ignored", "camunda:{attribute} 被忽略"),
    "camunda.groups": (
        "camunda:candidateGroups lists {count} groups: the task's lane is the first, '{group}'",
        "camunda:candidateGroups 列出了 {count} 个组：任务的泳道取第一个「{group}」",
    ),
    "camunda.why_assignee": (
        "tasks go to the lane's role (the deal owner first when they hold it)",
        "任务分配给泳道的角色（商机负责人拥有该角色时优先分配给他）",
    ),
    "camunda.why_users": (
        "tasks go to the lane's role, not to named users",
        "任务分配给泳道的角色，而不是指定的用户",
    ),
    "camunda.why_deadline": ("use the `sla` property for a deadline", "请用 `sla` 属性设置期限"),
    "camunda.why_priority": ("tasks have no priority here", "这里的任务没有优先级"),
    "camunda.why_result": (
        "a decision's outputs become data fields under their own names",
        "决策的输出会以各自的名称成为数据字段",
    ),
    "camunda.why_call_data": (
        "a call activity passes all data in and out",
        "调用活动会传入并传出全部数据",
    ),
    "camunda.why_form_data": (
        "Camunda's generated form fields are not shown: give the task a JSON schema with the "
        "formJsonSchemaFilename property",
        "不显示 Camunda 生成的表单字段：请用 formJsonSchemaFilename 属性为任务指定 JSON 架构",
    ),
    "camunda.why_form_field": (
        "Camunda's generated form fields are not shown",
        "不显示 Camunda 生成的表单字段",
    ),
    "camunda.task_listener": (
        "a task listener runs Camunda code, which salesflow does not run",
        "任务监听器会运行 Camunda 代码，salesflow 不运行它",
    ),
    "camunda.execution_listener": (
        "an execution listener runs Camunda code, which salesflow does not run",
        "执行监听器会运行 Camunda 代码，salesflow 不运行它",
    ),
    "camunda.input_output": (
        "Camunda input/output mappings are not supported: the element sees the deal's data "
        "as it is",
        "不支持 Camunda 输入/输出映射：该元素直接使用商机的数据",
    ),
    "camunda.connector": (
        "Camunda connectors are not supported: no outside services are configured",
        "不支持 Camunda 连接器：没有配置外部服务",
    ),
    "camunda.collection": (
        "a camunda:collection loop is not supported: use a multi-instance loop with "
        "loopDataInputRef",
        "不支持 camunda:collection 循环：请使用带 loopDataInputRef 的多实例循环",
    ),
    "camunda.element_variable": (
        "a camunda:collection loop is not supported: use a multi-instance loop with inputDataItem",
        "不支持 camunda:collection 循环：请使用带 inputDataItem 的多实例循环",
    ),
    "camunda.field": ("Java delegate fields are not supported", "不支持 Java 委托字段"),
    # --- SpiffWorkflow's parse errors (engine.core.lint.library) --------------------------
    "lib.loop_no_limit": (
        "the loop has neither a maximum number of rounds (loopMaximum) nor a condition "
        "(loopCondition): give it one",
        "该循环既没有最大轮数（loopMaximum），也没有循环条件（loopCondition）：请为它设置其中之一",
    ),
    "lib.mi_no_input": (
        "the multi-instance task has neither a number of instances (loopCardinality) nor a "
        "list to go through (loopDataInputRef): give it one",
        "该多实例任务既没有实例数量（loopCardinality），也没有要逐项处理的列表"
        "（loopDataInputRef）：请为它设置其中之一",
    ),
    "lib.mi_both": (
        "the multi-instance task has both a number of instances (loopCardinality) and a list "
        "to go through (loopDataInputRef): keep one",
        "该多实例任务同时设置了实例数量（loopCardinality）和要逐项处理的列表"
        "（loopDataInputRef）：请只保留一个",
    ),
    "lib.mi_input_missing": (
        "the list the multi-instance task goes through is not among its inputs "
        "(ioSpecification): add it there, or name a data field instead",
        "该多实例任务要逐项处理的列表不在它的输入（ioSpecification）中：请把它加进去，或改为填写一个数据字段",
    ),
    "lib.mi_output_missing": (
        "the list the multi-instance task collects is not among its outputs "
        "(ioSpecification): add it there, or name a data field instead",
        "该多实例任务收集结果的列表不在它的输出（ioSpecification）中：请把它加进去，或改为填写一个数据字段",
    ),
    "lib.no_such_target": (
        "a sequence flow leads to '{target}', which is not an element of this process: "
        "connect the flow to an element of the same process",
        "有一条顺序流指向「{target}」，但它不是本流程中的元素：请把该流连到同一流程中的元素",
    ),
    "lib.definition_no_id": (
        "a message, signal, error, escalation, correlation or data store declared in the "
        "file has no id: give each one an id",
        "文件中声明的某个消息、信号、错误、升级、关联或数据存储没有 id：请为每一个设置 id",
    ),
    "lib.correlation": (
        "the correlation '{ref}' is incomplete: give it a retrieval expression for each "
        "message it correlates",
        "关联「{ref}」不完整：请为它关联的每个消息设置取值表达式",
    ),
    "lib.duplicate_process": (
        "two processes have the id '{ref}': give each process an id of its own",
        "有两个流程的 id 都是「{ref}」：请为每个流程设置不同的 id",
    ),
    "lib.script_none": (
        "the script task has no script: write one, or make it a plain task",
        "该脚本任务没有脚本：请编写一个，或把它改为普通任务",
    ),
    "lib.timer_unreadable": (
        "the timer cannot be read: give it one duration, date or cycle written as an "
        'expression, for example "P3D" with its quotes',
        '无法读取该计时器：请为它设置一个写成表达式的时长、日期或周期，例如带引号的 "P3D"',
    ),
    "dmn.no_decision": (
        "the DMN file holds no decision: add a decision table",
        "该 DMN 文件中没有决策：请添加一个决策表",
    ),
    "dmn.several_tables": (
        "the decision holds several tables: salesflow reads one table per decision, so give "
        "each table a decision and a file of its own",
        "该决策包含多个决策表：salesflow 每个决策只读取一个表，请为每个表单独建立决策和文件",
    ),
    "dmn.unknown_part": (
        "the decision table holds a part salesflow cannot read ('{part}'): remove it",
        "该决策表中有 salesflow 无法读取的部分（「{part}」）：请删除它",
    ),
    "dmn.bad_output": (
        "the output {text} of the decision table cannot be read: write it as a Python expression",
        "决策表的输出 {text} 无法读取：请把它写成 Python 表达式",
    ),
    # --- the verdict (salesflow check) -------------------------------------------------
    "verdict.ready": ("no problems: ready to publish", "没有问题：可以发布"),
    "verdict.warning": (
        "one warning, no errors: it can be published",
        "1 个警告，没有错误：可以发布",
    ),
    "verdict.warnings": (
        "{count} warnings, no errors: it can be published",
        "{count} 个警告，没有错误：可以发布",
    ),
    "verdict.error": (
        "one error: this definition cannot be published yet",
        "1 个错误：此定义暂时无法发布",
    ),
    "verdict.errors": (
        "{count} errors: this definition cannot be published yet",
        "{count} 个错误：此定义暂时无法发布",
    ),
    "verdict.each": (
        "{failed} of {count} definitions have errors and cannot be published yet",
        "{count} 个定义中有 {failed} 个存在错误，暂时无法发布",
    ),
    "verdict.each_ok": (
        "none of the {count} definitions has an error: each can be published",
        "{count} 个定义都没有错误：都可以发布",
    ),
    "severity.error": ("error", "错误"),
    "severity.warning": ("warning", "警告"),
    # --- refusals (engine.usecases.definitions, the API) -------------------------------
    "refused.more": ("{detail} (and {count} more)", "{detail}（另有 {count} 项）"),
    # --- incidents: a deal's step failed while it ran (engine.core.failures) -------------
    # {library}: a library's text (SpiffWorkflow, Python, an HTTP server), shown as it is.
    "incident.failed": ("the step failed: {library}", "该步骤出错：{library}"),
    "incident.library": ("{library}", "系统报告「{library}」"),
    "incident.script": ("the script failed: {reason}", "脚本出错：{reason}"),
    "incident.expression": (
        "the expression '{expression}' failed: {reason}",
        "表达式「{expression}」出错：{reason}",
    ),
    "incident.expression_bare": (
        "the expression '{expression}' failed",
        "表达式「{expression}」出错",
    ),
    "incident.decision": (
        "the decision table failed at rule {row}: {reason}",
        "决策表在第 {row} 条规则处出错：{reason}",
    ),
    "incident.no_way_on": (
        "none of the gateway's conditions holds and it has no default flow: the deal cannot "
        "go on (correct the data and retry)",
        "网关的条件都不成立，且没有默认流向：商机无法继续（请更正数据后重试）",
    ),
    "incident.name_missing": (
        "the deal's data has no value named '{name}'",
        "商机数据中没有名为「{name}」的值",
    ),
    "incident.division_by_zero": ("a division by zero", "除数为零"),
    # the safe language's limits (engine.core.expressions.budget)
    "incident.limit_work": (
        "too much work: more than {limit} items copied or scanned",
        "计算量过大：复制或扫描了超过 {limit} 项",
    ),
    "incident.limit_time": (
        "stopped after {seconds} s: it ran longer than allowed",
        "运行 {seconds} 秒后被停止：超出了允许的运行时间",
    ),
    "incident.limit_steps": (
        "too many loop steps: more than {limit}",
        "循环步数过多：超过 {limit} 步",
    ),
    "incident.limit_number": (
        "the result of '*' would exceed {bits} bits",
        "「*」的结果将超过 {bits} 位",
    ),
    "incident.limit_range": (
        "range() is limited to {limit} numbers",
        "range() 最多生成 {limit} 个数",
    ),
    "incident.limit_data": (
        "the task data would be over {limit} characters written out (or contain itself); "
        "{names} not kept",
        "任务数据写出后将超过 {limit} 个字符（或包含自身）；{names} 未保留",
    ),
    # --- connector calls (engine.core.connectors, engine.jobs.connectors, the use cases) --
    "call.failed": ("the call to {host} failed: {reason}", "调用 {host} 失败：{reason}"),
    "call.failed_after": (
        "the call to {host} failed after {attempts} attempts: {reason}",
        "调用 {host} 失败（已尝试 {attempts} 次，重试次数已用完）：{reason}",
    ),
    "call.service_failed": (
        "the call to the service failed: {reason}",
        "调用对方服务失败：{reason}",
    ),
    "call.service_failed_after": (
        "the call to the service failed after {attempts} attempts: {reason}",
        "调用对方服务失败（已尝试 {attempts} 次，重试次数已用完）：{reason}",
    ),
    "call.timeout": (
        "no answer within {seconds} s (the connector's timeout)",
        "{seconds} 秒内没有应答（已到连接器的超时时间）",
    ),
    "call.connection_refused": (
        "the connection was refused: nothing answers at that address and port",
        "连接被拒绝：该地址和端口上没有服务应答",
    ),
    "call.transport": ("the call failed: {library}", "调用失败：{library}"),
    "call.refused": ("refused: {reason}", "已拒绝调用：{reason}"),
    "call.host_not_allowed": (
        "the host '{host}' is not on the admins' list of allowed hosts",
        "主机「{host}」不在管理员允许的主机列表中",
    ),
    "call.host_no_address": (
        "the host '{host}' has no address",
        "主机「{host}」没有地址（域名无法解析）",
    ),
    "call.not_an_address": ("'{address}' is not an address", "「{address}」不是有效的地址"),
    "call.internal_address": (
        "the host '{host}' resolves to {address}, an internal address (loopback, private, "
        "link-local or metadata): its entry does not allow internal addresses",
        "主机「{host}」解析到内部地址 {address}（回环、私有、链路本地或云元数据地址），"
        "而它的条目不允许访问内部地址",
    ),
    "call.too_large": (
        "the answer is larger than {limit} bytes",
        "应答超过 {limit} 字节",
    ),
    "call.redirect": (
        "the service answered HTTP {status}, a redirect to {location}: connectors do not "
        "follow redirects",
        "对方服务返回 HTTP {status}，重定向到 {location}：连接器不跟随重定向",
    ),
    "call.client_error": (
        "the service refused the request with HTTP {status}: {library}",
        "对方服务拒绝了请求（HTTP {status}）：{library}",
    ),
    "call.client_error_bare": (
        "the service refused the request with HTTP {status}",
        "对方服务拒绝了请求（HTTP {status}）",
    ),
    "call.server_error": (
        "the service failed with HTTP {status}: {library}",
        "对方服务出错（HTTP {status}）：{library}",
    ),
    "call.server_error_bare": (
        "the service failed with HTTP {status}",
        "对方服务出错（HTTP {status}）",
    ),
    "call.http_status": ("the service answered HTTP {status}", "对方服务返回了 HTTP {status}"),
    "call.not_json": (
        "the answer is not JSON, so it has no '{path}'",
        "应答不是 JSON，因此没有「{path}」",
    ),
    "call.path_missing": (
        "the response has no '{path}' (at '{step}')",
        "应答中没有「{path}」（在「{step}」处找不到）",
    ),
    "call.expression_failed": (
        "the connector's {what} '{expression}' failed: {reason}",
        "连接器的{what}「{expression}」出错：{reason}",
    ),
    "call.secret_missing": (
        "the connector's {what} needs the secret '{name}', which an admin has not stored",
        "连接器的{what}需要密钥「{name}」，但管理员尚未保存它",
    ),
    "call.secret_not_stored": (
        "the secret '{name}' is not stored: an admin sets it",
        "密钥「{name}」尚未保存：请管理员设置",
    ),
    # engine.core.sealing, through engine.store.connectors: a secret stored sealed
    "call.sealed_wrong_key": (
        "the sealed secret '{name}' cannot be opened with this machine's key ({source}): "
        "set SALESFLOW_SEALING_KEY to the key it was sealed with",
        "已加密保存的密钥「{name}」无法用本机的密钥（{source}）解开："
        "请把 SALESFLOW_SEALING_KEY 设为加密时所用的密钥",
    ),
    "call.sealed_no_key": (
        "the sealed secret '{name}' cannot be opened: this machine has no sealing key "
        "(neither SALESFLOW_SEALING_KEY nor {source}): set SALESFLOW_SEALING_KEY to the key "
        "it was sealed with",
        "已加密保存的密钥「{name}」无法解开：本机没有加密密钥（既没有 SALESFLOW_SEALING_KEY，"
        "也没有 {source}）：请把 SALESFLOW_SEALING_KEY 设为加密时所用的密钥",
    ),
    "call.sealed_format": (
        "the sealed secret '{name}' is sealed in a format ({version}) this version of "
        "salesflow cannot read: upgrade salesflow on this machine",
        "已加密保存的密钥「{name}」使用的加密格式（{version}）本版本 salesflow 无法读取："
        "请升级本机的 salesflow",
    ),
    "call.secret_in_url": (
        "the connector's {what} may not hold a secret",
        "连接器的{what}中不能包含密钥",
    ),
    "call.url_not_text": (
        "the connector's URL is {type}, not text",
        "连接器的 URL 是 {type}，不是文本",
    ),
    "call.url_invalid": (
        "the URL '{url}' is not an http(s) URL of at most {limit} characters",
        "URL「{url}」不是最多 {limit} 个字符的 http(s) 地址",
    ),
    "call.header_line_break": (
        "the header '{name}' holds a line break",
        "请求头「{name}」中含有换行符",
    ),
    "call.operator_unmapped": (
        "the operator '{name}' is not mapped to an HTTP request: an admin maps it on the "
        "connectors page",
        "操作「{name}」尚未映射为 HTTP 请求：请管理员在连接器页面映射它",
    ),
    "call.operator_broken": (
        "the mapping of '{name}' is broken: {library}",
        "「{name}」的映射有误：{library}",
    ),
    # where in a connector an expression sits ({what} of the entries above)
    "call.where_url": ("URL", "请求地址"),
    "call.where_params": ("params", "查询参数"),
    "call.where_headers": ("headers", "请求头"),
    "call.where_body": ("body", "请求体"),
    "call.where_auth": ("basic auth", "基本认证"),
    "call.where_field": ("field {name}", "字段「{name}」"),
    "call.where_header": ("header {name}", "请求头「{name}」"),
    "call.where_parameter": ("parameter {name}", "参数「{name}」"),
}


@dataclass(frozen=True)
class Said:
    """A message as the engine made it: its key and arguments; `text` is the English."""

    key: str
    args: tuple[tuple[str, str | Said], ...] = ()

    @property
    def text(self) -> str:
        return _fill(WORDING[self.key][0], {n: _english(v) for n, v in self.args})

    def __str__(self) -> str:
        return self.text


def say(key: str, /, **args: str | Said | int) -> Said:
    """The message `key` with its arguments (KeyError for a key the table lacks)."""
    if key not in WORDING:
        raise KeyError(key)
    return Said(key, tuple((n, v if isinstance(v, Said) else str(v)) for n, v in args.items()))


def recognised(text: str) -> Said | None:
    """The entry an English text of ours was made with (its arguments read back from the
    text), or None for a text no entry matches."""
    matched = _match(text)
    return None if matched is None else Said(*matched)


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def word(message: str | Said, lang: str | None) -> str:
    """One message (a Said, or an English text matched against the table) in `lang`;
    a text no entry matches is returned as it is."""
    if locale_of(lang) != CHINESE:
        return message.text if isinstance(message, Said) else message
    return _chinese(message, 0)


def localized(problems: Iterable[Problem], lang: str | None) -> list[Problem]:
    """The problems with their messages in `lang` (English or None: as they are)."""
    found = list(problems)
    if locale_of(lang) != CHINESE:
        return found
    result = []
    for problem in found:
        subject = problem.subject
        body: str | Said | None = problem.said
        if body is None:
            body = problem.message
            if subject and body.startswith(f"{subject}: "):
                body = body[len(subject) + 2 :]
        text = _chinese(body, 0)
        result.append(replace(problem, message=f"{subject}：{text}" if subject else text))
    return result


# --- helpers --------------------------------------------------------------------------------


def _english(value: str | Said) -> str:
    return value.text if isinstance(value, Said) else value


def _fill(template: str, values: Mapping[str, str]) -> str:
    return template.format_map(values)


def _chinese(message: str | Said, depth: int) -> str:
    if isinstance(message, Said):
        key, args = message.key, message.args
    else:
        matched = _match(message)
        if matched is None:  # the file reader's words (a repair), or a text as it is
            return graph_words.in_language(message, CHINESE)
        key, args = matched
    chinese = WORDING[key][1]
    if depth >= _MAX_DEPTH:
        return _fill(chinese, {n: _english(v) for n, v in args})
    return _fill(chinese, {n: _phrase(n, v, depth + 1) for n, v in args})


def _phrase(name: str, value: str | Said, depth: int) -> str:
    if name not in _PHRASES:
        return _english(value)
    return _chinese(value, depth)


@functools.cache
def _patterns() -> list[tuple[re.Pattern[str], str]]:
    """(regex of an English template, key), the most specific (most literal text) first."""
    compiled = []
    for key, (english, _) in WORDING.items():
        if key in _KEYED_ONLY:
            continue
        parts = []
        seen: set[str] = set()
        literal = 0
        for text, name, _, _ in string.Formatter().parse(english):
            parts.append(re.escape(text))
            literal += len(text)
            if name:  # a placeholder used twice holds the same text twice
                parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
                seen.add(name)
        compiled.append((literal, re.compile("".join(parts), re.DOTALL), key))
    compiled.sort(key=lambda item: -item[0])
    return [(pattern, key) for _, pattern, key in compiled]


@functools.lru_cache(maxsize=2048)
def _match(text: str) -> tuple[str, tuple[tuple[str, str | Said], ...]] | None:
    for pattern, key in _patterns():
        found = pattern.fullmatch(text)
        if found is not None:
            return key, tuple(found.groupdict().items())
    return None


def unworded(message: str | Said) -> list[str]:
    """The parts of a message no entry words: the message itself when no template matches
    it, else its phrase arguments that none matches (a library's text passed through
    "parse.library" counts as worded: it is framed).  For the tests."""
    if isinstance(message, Said):
        key, args = message.key, message.args
    else:
        matched = _match(message)
        if matched is None:
            worded = graph_words.in_language(message, CHINESE) != message
            return [] if worded else [message]
        key, args = matched
    if key == "parse.library":
        return []
    found = []
    for name, value in args:
        if name in _PHRASES and not _QUOTED.fullmatch(str(value)):
            found.extend(unworded(value))
    return found
