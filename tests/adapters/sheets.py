"""Seed 004 table 1 (客户需求登记与跟踪表) as an office would keep it: its three sample rows
(exactly as the seed writes them, times run together) and a few more."""

from __future__ import annotations

import csv
import io
from pathlib import Path

HEADER = [
    "客户编号",
    "客户类型",
    "需求渠道",
    "需求类型",
    "问题描述",
    "提交时间",
    "首次响应时间",
    "解决时间",
    "处理人",
    "满意度评分(1-5分)",
    "备注",
]
SEED_ROWS = [
    [
        "C202405001",
        "VIP",
        "在线客服",
        "售后",
        "订单收到商品破损，要求换货",
        "2024-05-0114:30",
        "2024-05-0114:38",
        "2024-05-0210:00",
        "客服*某",
        "5",
        "已协调仓库优先发货，赠送50元优惠券",
    ],
    [
        "C202405002",
        "新客户",
        "电话",
        "咨询",
        "如何查询积分兑换记录",
        "2024-05-0115:20",
        "2024-05-0115:28",
        "2024-05-0115:30",
        "客服*某",
        "4",
        "已指导客户通过APP“我的-积分”模块查询",
    ],
    [
        "C202405003",
        "老客户",
        "邮件",
        "投诉",
        "客服态度恶劣，要求道歉",
        "2024-05-0116:45",
        "2024-05-0117:00",
        "",
        "客服*某",
        "",
        "",
    ],
]
MORE_ROWS = [
    [
        "C202405004",
        "老客户",
        "门店前台",
        "售后",
        "空气炸锅不加热，到店要求维修",
        "2024-05-02 10:05",
        "",
        "",
        "",
        "",
        "到店登记",
    ],
]
BAD_ROWS = [
    ["C202405005", "新客户", "电话", "咨询", "", "2024-05-02 11:00", "", "", "", "", "描述缺失"],
    ["C202405006", "VIP", "电话", "投诉", "退款迟迟不到", "昨天下午", "", "", "", "9", ""],
]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    from datetime import datetime

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "客户需求登记与跟踪表"
    sheet.append(HEADER)
    for row in rows:
        cells: list = list(row)
        for index in (5, 6, 7):  # Excel keeps real date-times in the time columns
            text = cells[index]
            if len(text) == 15 and text[10] != " ":
                cells[index] = datetime.strptime(text, "%Y-%m-%d%H:%M")
        cells[9] = int(cells[9]) if cells[9].isdigit() else cells[9]
        sheet.append(cells)
    workbook.save(path)
    return path
