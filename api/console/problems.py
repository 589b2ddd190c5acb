"""The reader's problems (``matcher.io``, ``matcher.plausibility``, the import's own checks) in Chinese for the
console's import page, whose readers are the roadshow office. The library writes one English message per
problem (the CLI, the API and logs read it); this table renders each of its forms in Chinese, and a message it
does not know is shown as written, so a new message is never lost, only untranslated
(tests/unit/test_console_problems.py checks every form the reader writes is known here)."""

from __future__ import annotations

import re

_V = r"(.+)"  # a quoted value or a list, as the message carries it
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(f"^{p}$"), zh) for p, zh in (
    (r"required column is missing", "缺少必填列"),
    (r"required value is empty", "必填项为空"),
    (r"has a header but no rows(?:: there is nothing to read)?", "只有表头，没有数据行"),
    (rf"duplicate id {_V}", r"编号重复：\1"),
    (rf"dangling reference {_V}: not in (\w+)", r"引用的编号 \1 不在 \2 中"),
    (r"refers to (\w+) but \1\.csv is absent", r"引用了 \1，但没有提供 \1 文件"),
    (rf"unknown value \(expected one of {_V}\): {_V}", r"无法识别的取值 \2（应为以下之一：\1）"),
    (rf"unknown value in list \(expected `;`-separated values of {_V}\): {_V}",
     r"列表中有无法识别的取值 \2（应为以 ; 分隔的下列取值：\1）"),
    (rf"unparsable date \(YYYY-MM-DD expected\): {_V}",
     r"无法识别的日期 \1（应为 2024-03-05、2024/3/5 或 2024年3月5日；不接受日在前的写法）"),
    (rf"not a whole number: {_V}", r"不是整数：\1"),
    (rf"not an amount \(.*\): {_V}", r"不是金额：\1（应为万元数，或带单位：5000万、1.2亿元）"),
    (rf"not a boolean \(.*\): {_V}", r"不是“是/否”：\1"),
    (rf"bad 统一社会信用代码 \(.*\): {_V}", r"统一社会信用代码有误：\1（应为 18 位且校验位正确）"),
    (rf"out of range: {_V} \(at most {_V} in size\)", r"数值超出范围：\1（绝对值最大 \2）"),
    (rf"(\w+) \(科技人员\) must not exceed employees: {_V}", r"科技人员数不能超过员工人数：\2"),
    (rf"(\w+)(?: \(.*\))? must not be negative: {_V}", r"不能为负数：\2"),
    (rf"(\w+) must not be in the future \(after {_V}\): {_V}", r"不能晚于今天（\2）：\3"),
    (rf"expires_on must be after granted_on: {_V}", r"到期日期须晚于授权日期：\1"),
    (rf"ticket_min_wan must not exceed ticket_max_wan: {_V}", r"单笔投资下限不能超过上限：\1"),
    (rf"revoked_on must not be before granted_on: {_V}", r"撤回日期不能早于授权日期：\1"),
    (rf"(\w+) must be positive: {_V}", r"须为正数：\2"),
    (rf"not valid {_V} text \(.*\); try --encoding gbk or --encoding cp1252",
     r"不是有效的 \1 文本：请在下方把“CSV 文件编码”改为 GBK / GB18030 后重新上传"),
    (rf"unreadable CSV: {_V}", r"无法读取的 CSV 文件：\1"),
    (rf"unreadable Excel workbook: {_V}", r"无法读取的 Excel 文件：\1"),
    (rf"unreadable Parquet: {_V}", r"无法读取的 Parquet 文件：\1"),
    (rf"ignored: {_V} is used", r"已忽略：使用了 \1"),
    (rf"unknown columns ignored: {_V} \(the file names its columns as DATA_FORMAT\.md does, so other spellings "
     rf"are not read: {_V}\)", r"未识别的列，已忽略：\1（文件使用了数据格式约定的英文列名，因此不读取其他写法：\2）"),
    (rf"unknown columns ignored: {_V} \(an amount's header needs its unit, e\.g\. {_V}\)",
     r"未识别的列，已忽略：\1（金额列的列名须注明单位，例如 \2）"),
    (rf"unknown columns ignored: {_V}", r"未识别的列，已忽略：\1"),
    (rf"(\d+) amount\(s\) in words \({_V}\) read as their order of magnitude .*",
     r"\1 个金额以文字表示（\2），按数量级读取：数百万 = 500、数千万 = 5,000、数亿 = 50,000 万元"),
    (r"choose at least one file .*", "请至少选择一个文件"),
    (rf"{_V}: not a CSV, Excel \(\.xlsx\) or Parquet file", r"\1 不是 CSV、Excel（.xlsx）或 Parquet 文件"),
    (rf"{_V} is empty", r"\1 是空文件"),
    (rf"two files for {_V}", r"\1 选择了两个文件"),
    (rf"(\d+) (\w+) id\(s\) already in the database: {_V}", r"\1 个编号已在系统中（\3）：未导入任何数据"),
    (rf"the data conflicts with itself or the database: {_V}", r"数据与自身或系统中已有数据冲突：\1"),
))


def in_chinese(message: str) -> str:
    """``message`` in Chinese when its form is known, else as written."""
    for pattern, zh in PATTERNS:
        if pattern.match(message):
            return pattern.sub(zh, message)
    return message
