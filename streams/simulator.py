"""Realistic simulated traffic: bilingual customer requests on every channel, and the agents
who answer, park, resolve or forget them.

Used by `ticketflow demo` and by the load and integration tests. Deterministic for a seed.
This module only decides what customers say, on which channel and when; how each channel's
sender puts it on the wire (signed webhooks, CTI events, WeChat Work callbacks, mail) is
streams/senders.py.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from streams.models import CHANNELS

PRODUCTS_ZH = ["蓝牙耳机", "空气炸锅", "扫地机器人", "智能手表", "电动牙刷", "会员年卡", "宽带套餐", "外卖订单"]
PRODUCTS_EN = [
    "wireless earbuds",
    "air fryer",
    "robot vacuum",
    "smart watch",
    "electric toothbrush",
    "annual membership",
    "fibre broadband plan",
    "food order",
]

# (type, language, text). {order} {product} {amount} {hours} are filled in per request.
TEMPLATES: list[tuple[str, str, str]] = [
    ("complaint", "zh", "我要投诉！你们客服态度太差了，电话里很不耐烦，订单{order}的问题一直没人处理。"),
    ("complaint", "zh", "投诉门店店员服务敷衍，我排队一个小时没人理，非常不满。"),
    ("complaint", "zh", "订单{order}重复扣费{amount}元，客服推诿，再不处理我就打12315！"),
    ("complaint", "zh", "买的{product}充电时冒烟起火了，差点烫伤孩子，这是安全隐患，必须给个说法！"),
    ("complaint", "zh", "外卖吃完全家食物中毒进了医院，要求你们立刻处理！"),
    ("complaint", "en", "I want to file a complaint. Your agent was rude and hung up on me about order {order}."),
    (
        "complaint",
        "en",
        "I was charged twice ({amount} CNY) for order {order} and nobody responded for three days. Unacceptable.",
    ),
    (
        "complaint",
        "en",
        "The {product} caught fire while charging. This is a safety hazard and I need this escalated now.",
    ),
    ("complaint", "en", "Terrible service at your store today, the staff ignored me. Let me speak to a manager."),
    ("after_sales", "zh", "订单{order}的{product}收到时外包装破损，机器也坏了，申请换货。"),
    ("after_sales", "zh", "我想退货退款，{product}不合适，订单号{order}。"),
    ("after_sales", "zh", "快递显示已签收但我没收到包裹，订单{order}，请帮忙查一下。"),
    ("after_sales", "zh", "{product}用了一个月就坏了，还在保修期内，怎么申请维修？"),
    ("after_sales", "en", "My {product} arrived damaged. Order {order}. I'd like a replacement please."),
    ("after_sales", "en", "I haven't received my package for order {order}, tracking says delivered."),
    ("after_sales", "en", "How do I return the {product}? I want a refund for order {order}."),
    ("product_issue", "zh", "APP一直闪退，打开就崩溃，无法登录，急！"),
    ("product_issue", "zh", "宽带从早上开始断网了，所有设备都连不上，麻烦尽快处理。"),
    ("product_issue", "zh", "支付页面报错，提示系统异常，订单{order}付不了款。"),
    ("product_issue", "zh", "{product}连不上手机，蓝牙搜索不到，重置也没用。"),
    ("product_issue", "en", "The app crashes every time I open it. I can't log in since this morning."),
    ("product_issue", "en", "Urgent: your checkout is down, all users get error 502 right now."),
    ("product_issue", "en", "My {product} stopped working after the update and won't load the settings page."),
    ("product_issue", "en", "No internet since 8am, the router shows a red light. Please fix asap."),
    ("service_request", "zh", "订单{order}还没发货，我想修改地址，改成上海市浦东新区。"),
    ("service_request", "zh", "麻烦帮我开发票，订单{order}，抬头是公司名称。"),
    ("service_request", "zh", "我要取消订单{order}，不想要了。"),
    ("service_request", "zh", "想办理升级套餐，现在的流量不够用。"),
    ("service_request", "en", "Please change my address for order {order} to 21 Nanjing Road, Shanghai."),
    ("service_request", "en", "I need an invoice for order {order} with my company name."),
    ("service_request", "en", "Please cancel my subscription at the end of this month."),
    ("service_request", "en", "Can you reset my password? I no longer have access to my old phone number."),
    ("inquiry", "zh", "请问会员权益有哪些？积分怎么兑换？"),
    ("inquiry", "zh", "想问一下订单{order}什么时候能发货？"),
    ("inquiry", "zh", "请问你们门店的营业时间是几点到几点？"),
    ("inquiry", "zh", "咨询一下{product}的保修政策是多久？"),
    ("inquiry", "en", "How long does delivery to Beijing usually take?"),
    ("inquiry", "en", "What is your return policy for opened items?"),
    ("inquiry", "en", "I would like to know the benefits of the annual membership."),
    ("inquiry", "en", "When will order {order} be shipped? Just wondering about the status."),
    ("suggestion", "zh", "建议APP增加一个夜间模式，晚上看着太刺眼了。"),
    ("suggestion", "zh", "希望能增加更多自提点，不急，有空考虑一下。"),
    ("suggestion", "en", "Suggestion: it would be nice to have dark mode in the app."),
    ("suggestion", "en", "Feature request: please add Apple Pay at checkout. No rush."),
    ("inquiry", "zh", "我不是投诉，只是想问一下积分什么时候到账？"),
    ("inquiry", "en", "This is not a complaint, just a question about my points balance."),
]

SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"]
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军"]
EN_NAMES = ["Alice Chen", "Ben Wong", "Carol Li", "David Zhang", "Emma Liu", "Frank Wu", "Grace Lin", "Henry Zhou"]


@dataclass(frozen=True)
class Customer:
    id: str | None
    name: str
    phone: str | None
    email: str | None
    wecom_id: str | None
    tier: str

    def as_payload(self) -> dict[str, Any]:
        return {
            key: value
            for key, value in {
                "id": self.id,
                "name": self.name,
                "phone": self.phone,
                "email": self.email,
                "wecom_id": self.wecom_id,
                "tier": self.tier,
            }.items()
            if value is not None
        }


FOLLOW_UPS = [
    ("zh", "还有补充：订单号我刚才发错了，请再帮忙看一下。"),
    ("zh", "请问处理得怎么样了？已经等了很久了。"),
    ("zh", "照片已补充，请尽快处理。"),
    ("en", "Any update on this? I'm still waiting."),
    ("en", "Adding a detail: it happened again this morning."),
    ("en", "I've attached the receipt now, please take a look."),
]

# Channels whose customers write again in the same conversation (web chat messages with seq > 1,
# e-mail replies with In-Reply-To).
THREADED_CHANNELS = ("webchat", "email")


@dataclass(frozen=True)
class SimulatedCall:
    """What happened on a hotline call: queue, wait, talk and how it ended."""

    queue: str
    ivr_choice: str
    agent_id: str
    wait_seconds: float  # in the queue before an agent answered (or the caller hung up)
    talk_seconds: float
    answered: bool = True
    resolved_on_call: bool = False
    callback_requested: bool = False  # an abandoned caller who asked to be called back


@dataclass(frozen=True)
class SimulatedRequest:
    channel: str
    payload: dict[str, Any] | None  # None for a malformed body
    raw_body: bytes | None  # set for a malformed body
    expected_type: str
    language: str
    duplicate_of: int | None = None
    # A customer's follow-up in an earlier conversation: that conversation's opening idempotency
    # key, and the message's number in it (the opening message is 1).
    thread_key: str | None = None
    seq: int = 1
    call: SimulatedCall | None = None  # phone only


@dataclass(order=True)
class PlannedAction:
    due: float
    ticket_id: str = field(compare=False)
    body: dict[str, Any] = field(compare=False)


def make_customers(rng: random.Random, count: int = 300) -> list[Customer]:
    customers = []
    for number in range(count):
        tier = rng.choices(["regular", "vip", "new", "churn_risk"], weights=[70, 10, 15, 5])[0]
        chinese = rng.random() < 0.6
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) if chinese else rng.choice(EN_NAMES)
        phone = f"+86 13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}" if rng.random() < 0.8 else None
        email = f"customer{number}@example.com" if rng.random() < 0.5 else None
        wecom = f"wm{number:05d}" if rng.random() < 0.3 else None
        explicit = f"C{100000 + number}" if rng.random() < 0.4 else None
        if not (explicit or phone or email or wecom):
            phone = f"+86 139{rng.randint(10_000_000, 99_999_999)}"
        customers.append(Customer(explicit, name, phone, email, wecom, tier))
    return customers


class TrafficGenerator:
    """Generates requests; a share are malformed or repeat an earlier idempotency key."""

    def __init__(
        self, seed: int = 7, malformed_share: float = 0.03, duplicate_share: float = 0.03, follow_up_share: float = 0.0
    ) -> None:
        self.rng = random.Random(seed)
        self.customers = make_customers(self.rng)
        self.malformed_share = malformed_share
        self.duplicate_share = duplicate_share
        self.follow_up_share = follow_up_share
        self.sent: list[SimulatedRequest] = []
        self._threads: list[int] = []  # indices of conversations opened on a threaded channel
        self._messages: dict[int, int] = {}  # conversation → messages so far
        self._by_channel = {
            "phone": [c for c in self.customers if c.phone],
            "email": [c for c in self.customers if c.email],
            "wecom": [c for c in self.customers if c.wecom_id],
            "vip": [c for c in self.customers if c.tier == "vip" and (c.id or c.phone or c.email)],
        }

    def _customer(self, channel: str) -> Customer:
        """A customer who can use the channel (a phone number to call from, a mailbox, …)."""
        return self.rng.choice(self._by_channel.get(channel) or self.customers)

    def _follow_up(self, now: datetime | None) -> SimulatedRequest | None:
        if not self._threads:
            return None
        rng = self.rng
        index = rng.choice(self._threads[-50:])
        opening = self.sent[index]
        assert opening.payload is not None
        self._messages[index] = seq = self._messages.get(index, 1) + 1
        language, text = rng.choice([item for item in FOLLOW_UPS if item[0] == opening.language] or FOLLOW_UPS)
        payload = {
            "customer": opening.payload["customer"],
            "text": text,
            "submitted_at": (now or datetime.now(UTC)).isoformat(),
            "idempotency_key": f"sim-{rng.getrandbits(64):016x}",
        }
        if "subject" in opening.payload:
            payload["subject"] = "Re: " + opening.payload["subject"]
        request = SimulatedRequest(
            opening.channel,
            payload,
            None,
            "follow_up",
            language,
            thread_key=opening.payload["idempotency_key"],
            seq=seq,
        )
        self.sent.append(request)
        return request

    def _call(self) -> SimulatedCall:
        rng = self.rng
        answered = rng.random() < 0.9
        wait = rng.uniform(2, 25) if rng.random() < 0.9 else rng.uniform(620, 900)  # some wait past the target
        return SimulatedCall(
            queue=rng.choice(["general", "billing", "technical", "vip"]),
            ivr_choice=rng.choice(["1", "2", "3", "0"]),
            agent_id=f"agent-{rng.randint(1, 40):02d}",
            wait_seconds=wait,
            talk_seconds=rng.uniform(5, 25),
            answered=answered,
            resolved_on_call=answered and rng.random() < 0.3,
            callback_requested=not answered and rng.random() < 0.7,
        )

    def next_request(self, now: datetime | None = None) -> SimulatedRequest:
        rng = self.rng
        if self.sent and rng.random() < self.duplicate_share:
            index = rng.randrange(len(self.sent))
            original = self.sent[index]
            if original.payload is not None:
                repeat = replace(original, duplicate_of=index)  # the same message, delivered again
                self.sent.append(repeat)
                return repeat
        if self.follow_up_share and rng.random() < self.follow_up_share:
            follow_up = self._follow_up(now)
            if follow_up is not None:
                return follow_up
        channel = rng.choice(CHANNELS)
        if rng.random() < self.malformed_share:
            broken = rng.choice(
                [
                    b'{"customer": {"name": "x"}, "text": ',
                    b'{"customer": {}}',
                    b'{"text": "   "}',
                    b'{"text": 42, "customer": []}',
                    b"\xff\xfe not json",
                ]
            )
            request = SimulatedRequest(channel, None, broken, "invalid", "none")
            self.sent.append(request)
            return request
        request_type, language, template = rng.choice(TEMPLATES)
        products = PRODUCTS_ZH if language == "zh" else PRODUCTS_EN
        text = template.format(
            order=f"{rng.randint(2024_0000_0000, 2026_9999_9999)}",
            product=rng.choice(products),
            amount=rng.choice([39, 99, 199, 299, 1299]),
        )
        customer = self._customer(channel)
        submitted = (now or datetime.now(UTC)) - timedelta(seconds=rng.uniform(0, 3))
        payload = {
            "customer": customer.as_payload(),
            "text": text,
            "submitted_at": submitted.isoformat(),
            "idempotency_key": f"sim-{rng.getrandbits(64):016x}",
        }
        if channel == "email":
            payload["subject"] = text[:24]
        call = self._call() if channel == "phone" else None
        request = SimulatedRequest(channel, payload, None, request_type, language, call=call)
        if channel in THREADED_CHANNELS:
            self._threads.append(len(self.sent))
        self.sent.append(request)
        return request


ANSWER_COMMENTS = ["谢谢，解决了", "很满意", "great, thanks", "还是没修好", "still not fixed", None]


def survey_answer(rng: random.Random, ticket_id: str) -> dict[str, Any]:
    """A customer's answer to a survey (`POST /v1/feedback`): mostly good, a few bad."""
    csat = rng.choices([5, 4, 3, 2, 1], weights=[45, 30, 10, 8, 7])[0]
    comment = rng.choice(
        ANSWER_COMMENTS[3:5]
        if csat >= 4 and rng.random() < 0.05
        else [ANSWER_COMMENTS[0], ANSWER_COMMENTS[1], ANSWER_COMMENTS[2], None]
    )
    answer: dict[str, Any] = {"ticket_id": ticket_id, "csat": csat, "idempotency_key": f"survey-{ticket_id}"}
    if rng.random() < 0.3:
        answer["nps"] = min(10, max(0, csat * 2 + rng.randint(-1, 1)))
    if comment is not None:
        answer["comment"] = comment
    return answer


def care_profiles(customers: list[Customer], today: date, rng: random.Random) -> list[dict[str, Any]]:
    """CRM profiles (customers.profiles) for the customers with ids: some have a birthday today,
    the new ones joined three days ago, the churn-risk ones are due a win-back call."""
    profiles = []
    for customer in customers:
        if customer.id is None:
            continue
        profile: dict[str, Any] = {"customer_id": customer.id, "tier": customer.tier, "name": customer.name}
        if rng.random() < 0.2:
            profile["birthday"] = date(rng.randint(1960, 2004), today.month, min(today.day, 28)).isoformat()
        if customer.tier == "new":
            profile["customer_since"] = (today - timedelta(days=3)).isoformat()
        profiles.append(profile)
    return profiles


class AgentBehaviour:
    """What the service desk does with a ticket: replies to most, parks some waiting on the
    customer, resolves many, and forgets a few (those breach)."""

    def __init__(self, seed: int = 11, time_scale: float = 1.0) -> None:
        self.rng = random.Random(seed)
        self.scale = time_scale
        self._plan: list[PlannedAction] = []

    def plan(self, ticket_id: str, now: float) -> None:
        rng, scale = self.rng, self.scale
        agent = f"agent-{rng.randint(1, 40):02d}"
        if rng.random() < 0.15:
            return  # nobody picks it up: first response and resolution will breach
        reply_at = now + rng.uniform(3, 45) * scale
        self._add(reply_at, ticket_id, {"type": "reply", "by": agent})
        if rng.random() < 0.15:
            pending_at = reply_at + rng.uniform(2, 10) * scale
            self._add(pending_at, ticket_id, {"type": "pending", "by": agent})
            back_at = pending_at + rng.uniform(10, 60) * scale
            self._add(back_at, ticket_id, {"type": "customer_reply", "by": "customer"})
            reply_at = back_at
        if rng.random() < 0.7:
            resolve_at = reply_at + rng.uniform(5, 120) * scale
            self._add(resolve_at, ticket_id, {"type": "resolve", "by": agent})
            if rng.random() < 0.6:  # the customer answers the survey (due seconds after resolution in the demo)
                self._add(resolve_at + rng.uniform(4, 20) * scale, ticket_id, survey_answer(rng, ticket_id))
            if rng.random() < 0.05:
                self._add(resolve_at + rng.uniform(5, 30) * scale, ticket_id, {"type": "reopen", "by": "customer"})

    def follow_up(self, ticket_id: str, now: float) -> None:
        """The customer wrote again on the ticket: most of the time an agent answers."""
        if self.rng.random() < 0.85:
            agent = f"agent-{self.rng.randint(1, 40):02d}"
            self._add(now + self.rng.uniform(3, 45) * self.scale, ticket_id, {"type": "reply", "by": agent})

    def _add(self, due: float, ticket_id: str, body: dict[str, Any]) -> None:
        heapq.heappush(self._plan, PlannedAction(due, ticket_id, body))

    def due(self, now: float) -> list[PlannedAction]:
        ready = []
        while self._plan and self._plan[0].due <= now:
            ready.append(heapq.heappop(self._plan))
        return ready

    def __len__(self) -> int:
        return len(self._plan)
