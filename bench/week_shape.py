"""What a generated week looks like: channel, type and aspect mixes, departments, targets and response times, texts (bench/week.py)."""

from __future__ import annotations

import random

ZONE = "Asia/Shanghai"


WEEKDAY_LOAD = (1.2, 1.1, 1.0, 1.0, 0.95, 0.8, 0.75)  # Monday is the busiest day, Sunday the quietest


CHANNEL_WEIGHTS = {"phone": 30, "app": 20, "wecom": 14, "webchat": 14, "email": 8, "social": 6, "store": 5, "vip": 3}


TYPE_WEIGHTS = {
    "inquiry": 34,
    "after_sales": 22,
    "product_issue": 15,
    "service_request": 14,
    "complaint": 11,
    "suggestion": 4,
}


DEPARTMENT = {
    "inquiry": "operations",
    "service_request": "operations",
    "suggestion": "operations",
    "product_issue": "product",
    "after_sales": "after_sales",
    "complaint": "cs_supervisor",
}


# Median first response (minutes) per channel: a hotline is answered live, e-mail waits.
RESPONSE_MEDIAN_MIN = {
    "phone": 3,
    "webchat": 4,
    "app": 14,
    "wecom": 25,
    "vip": 12,
    "social": 45,
    "store": 20,
    "email": 75,
}


ASPECTS = {"service": 30, "logistics": 24, "billing": 18, "money_loss": 10, "harm": 4, "money_withheld": 8, "outage": 6}


TEXTS = {
    "inquiry": [
        "请问会员积分怎么兑换?",
        "想咨询一下退货政策",
        "订单什么时候发货?",
        "How do I change my delivery address?",
    ],
    "after_sales": [
        "收到的商品破损了,要求换货",
        "申请退款,商品和描述不符",
        "维修进度怎么样了",
        "The parcel arrived damaged",
    ],
    "product_issue": [
        "APP一直闪退无法登录",
        "支付页面报错,付不了款",
        "设备无法开机",
        "The app keeps crashing on login",
    ],
    "service_request": ["帮我修改收货地址", "需要开具发票", "注销账号", "Please cancel my subscription"],
    "complaint": [
        "客服态度很差,非常不满意",
        "多扣了我的钱,一直没退",
        "快递员把包裹扔在门口丢了",
        "Still no refund after two weeks",
    ],
    "suggestion": ["建议增加夜间客服", "希望APP支持深色模式", "Suggest adding a live order map"],
}


COMMENTS = {5: "很满意,处理很快", 4: "还不错", 3: "一般", 2: "等太久了", 1: "非常不满意,问题没解决"}


def weighted(rng: random.Random, table: dict[str, float]) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


def targets(channel: str, kind: str, urgency: str, grade: int | None, tier: str) -> tuple[str, float | None, float]:
    """(policy, first-response target or None, resolution target) in seconds, as policies.yaml."""
    if kind == "complaint":
        return {1: ("complaint-grade-1", 3600, 86400), 2: ("complaint-grade-2", 7200, 172800)}.get(
            grade or 3, ("complaint-grade-3", 14400, 259200)
        )
    if tier == "vip" and urgency in ("urgent", "high"):
        return "vip-urgent", 3600, 86400
    if urgency == "urgent":
        return "urgent", 5400, 86400
    if channel == "app":
        return "app-feedback", 1800, 86400
    if urgency == "high":
        return "high", 7200, 86400
    if urgency == "low":
        return "low", None, 172800
    return "routine", 7200, 86400
