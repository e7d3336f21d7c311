from __future__ import annotations

import io

from openpyxl import Workbook

HEADER = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "解析", "难度", "分类", "标签", "法律依据"]


def xlsx(rows, header=HEADER, title_rows=(), sheet="题库", extra_sheets=()) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for row in title_rows:
        ws.append(row)
    ws.append(header)
    for row in rows:
        ws.append(row)
    for name, sheet_rows in extra_sheets:
        other = wb.create_sheet(name)
        for row in sheet_rows:
            other.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def good_rows():
    return [
        ["单选题", "行政处罚的追责时效一般为（ ）。", "一年", "二年", "三年", "五年", "B", "第三十六条", 2,
         "公共法律知识/行政处罚", "时效", "《中华人民共和国行政处罚法》第三十六条"],
        ["多选题", "下列属于行政处罚的有（ ）。", "警告", "罚款", "责令改正", "行政拘留", "A,B,D", "", 3,
         "公共法律知识/行政处罚", "种类、处罚", "《中华人民共和国行政处罚法》第九条"],
        ["判断题", "限制人身自由的行政处罚只能由法律设定。", None, None, None, None, "√", "", 1,
         "公共法律知识/行政处罚", "", "行政处罚法第十条"],
        ["填空题", "当事人应当自收到行政处罚决定书之日起（ ）日内缴纳罚款。", None, None, None, None, "十五|15", "", 2,
         "公共法律知识/行政处罚", "", ""],
        ["案例分析题", "某局执法人员一人当场罚款5000元，请分析。", None, None, None, None, "执法人员不得少于两人……", "",
         4, "公共法律知识/行政处罚", "", ""],
    ]
