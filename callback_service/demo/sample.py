"""A realistic, reproducible sample of walk-in and kiosk reports for the demo (no real people).

Every phone in the sample (each reporter's, then a minor's guardian's) is numbered in row order from
``FIRST_PHONE``: the SIP loopback network registers its simulated citizens under the same sequence
(``telephony.sip.citizen.CitizenPool``), so each report rings the citizen scripted for it.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

STATIONS = ("城关派出所", "北关派出所", "南街派出所", "西关派出所", "东城派出所", "开发区派出所",
            "新华派出所", "站前派出所", "河西派出所")
CATEGORIES = (("盗窃", ""), ("电信网络诈骗", ""), ("家庭纠纷", "domestic_violence"), ("邻里纠纷", ""),
              ("校园欺凌", "minor"), ("聚众赌博", "porn_gambling_drugs"), ("非法集资", "mass_involvement"),
              ("交通事故", ""), ("遗失物品", ""), ("殴打他人", ""))
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ("建国", "秀英", "志强", "丽娟", "海峰", "晓燕", "伟", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟")
CHANNELS = ("walk_in",) * 6 + ("kiosk",) * 3 + ("phone", "transfer")
FIRST_PHONE = 13900000001      # = the first number of telephony.sip.citizen.CitizenPool


def _id_number(rng: random.Random, born: datetime) -> str:
    body = f"140502{born:%Y%m%d}{rng.randint(100, 999)}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]
    return body + check


def sample_reports(now: datetime, count: int = 36, seed: int = 20261128) -> list[dict[str, Any]]:
    """Reports received 1-5 days before ``now`` (so round 1 is due), spread over the nine stations."""
    rng = random.Random(seed)
    phones = (str(FIRST_PHONE + n) for n in range(2 * count))
    rows = []
    for i in range(count):
        category, tag = CATEGORIES[i % len(CATEGORIES)]
        received = now - timedelta(days=1, hours=rng.randint(1, 96), minutes=rng.randint(0, 59))
        born = datetime(rng.randint(1960, 2002), rng.randint(1, 12), rng.randint(1, 28))
        row = {
            "report_no": f"JJ{received:%Y%m%d}{i + 1:04d}", "received_at": received.strftime("%Y-%m-%d %H:%M"),
            "station": STATIONS[i % len(STATIONS)], "channel": CHANNELS[i % len(CHANNELS)] if i >= 4 else "walk_in",
            "reporter_name": rng.choice(SURNAMES) + rng.choice(GIVEN), "reporter_phone": next(phones),
            "reporter_id_number": _id_number(rng, born), "category": category, "tags": tag,
            "guardian_phone": "", "do_not_call": "否", "safe_to_call": "",
        }
        if tag == "minor":
            row["guardian_phone"] = next(phones)
        if tag == "domestic_violence":
            row["safe_to_call"] = "否" if i % 3 == 0 else "是"
        rows.append(row)
    rows[-1]["do_not_call"] = "是"
    return rows
