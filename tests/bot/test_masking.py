"""Identity, mobile and bank-card numbers are masked before Rasa, the log or any log line."""

from __future__ import annotations

import logging

import pytest

from bot.chat.masking import BANK_CARD_MASK, ID_CARD_MASK, MOBILE_MASK, id18_valid, luhn_valid, mask
from tests.bot.sample_numbers import MOBILE, identity_number, luhn_number

ID = identity_number()
CARD = luhn_number()
BAD_CHECK = f"{ID[:17]}{'0' if ID[17] != '0' else '1'}"  # wrong check digit, real birth date


def spaced(number: str, groups: list[int]) -> str:
    parts, start = [], 0
    for size in groups:
        parts.append(number[start : start + size])
        start += size
    return " ".join(parts)


def test_test_numbers_are_valid():
    assert id18_valid(ID) and luhn_valid(CARD)
    assert not id18_valid(ID[:17] + ("0" if ID[17] != "0" else "1"))


@pytest.mark.parametrize(
    "text, placeholder, secret",
    [
        (f"我的身份证号是{ID}，能申请吗", ID_CARD_MASK, ID),
        (f"身份证 {spaced(ID, [6, 8, 4])} 谢谢", ID_CARD_MASK, ID),
        (f"身份证{ID[:17]}x", ID_CARD_MASK, ID[:17])
        if ID.endswith("X")
        else (f"身份证：{ID}。", ID_CARD_MASK, ID),
        ("老身份证 420202900307123", ID_CARD_MASK, "420202900307123"),
        (f"电话{MOBILE}", MOBILE_MASK, MOBILE),
        ("电话 139 1234 5678 找我", MOBILE_MASK, "1234 5678"),
        ("打 +86 139-1234-5678", MOBILE_MASK, "1234-5678"),
        ("打8613912345678", MOBILE_MASK, "13912345678"),
        (f"卡号{CARD}", BANK_CARD_MASK, CARD),
        (f"卡号 {spaced(CARD, [4, 4, 4, 4, 3])} 对吗", BANK_CARD_MASK, CARD[4:8]),
        ("全角１３９１２３４５６７８也要遮", MOBILE_MASK, "12345678"),
        # Next to Latin letters, and with any whitespace runs or dashes between the groups.
        ("ID420202199001011231", ID_CARD_MASK, "199001011231"),
        (f"id:{ID}号", ID_CARD_MASK, ID),
        (f"{ID}abc", ID_CARD_MASK, ID),
        ("tel13812345678", MOBILE_MASK, "12345678"),
        ("TEL:13812345678ok", MOBILE_MASK, "12345678"),
        ("420202  19900101  1231", ID_CARD_MASK, "19900101"),
        ("身份证420202\t19900101\n1231", ID_CARD_MASK, "19900101"),
        ("420202 - 19900101 - 1231", ID_CARD_MASK, "19900101"),
        ("手机 138  1234  5678", MOBILE_MASK, "1234  5678"),
        ("手机 138--1234--5678", MOBILE_MASK, "1234--5678"),
        ("电话 13812345678 2500人", MOBILE_MASK, "13812345678"),
        (f"card{CARD}", BANK_CARD_MASK, CARD),
        # Mistyped identity numbers (wrong check digit) with a real birth date are still masked.
        ("我身份证420202198001011234手机13912345678", ID_CARD_MASK, "420202198001011234"),
        (f"身份证{BAD_CHECK}", ID_CARD_MASK, BAD_CHECK),
        ("身份证 420202 19800101 123X", ID_CARD_MASK, "19800101"),
        ("身份证42020219800229123x", ID_CARD_MASK, "19800229"),  # 1980 was a leap year
        ("老身份证420202800101123号", ID_CARD_MASK, "420202800101123"),
    ],
)
def test_numbers_are_masked(text, placeholder, secret):
    masked = mask(text)
    assert placeholder in masked
    assert secret not in masked


@pytest.mark.parametrize(
    "text",
    [
        "2022-2024年共实现新增残疾人就业2500人",
        "第13条说什么",
        "区域间距标准的60%执行",
        "新增残疾人就业2500人，培训1500人次，农村1500人",
        "2022-2024年",
        "第2 条和第13条，二（八）13",
        "2022年 2024年 2500 1500",
        "拨打12385",
        "0714-1234567",
        "编号 12345678901234567",  # 17 digits: no kind of number we mask
        "编号 123456789012345678",  # 18 digits, no birth date at 7-14
        "420202199013011234",  # month 13: not a birth date
        "420202198102291234",  # 1981-02-29 does not exist
        "420202189912311234",  # born before 1900
        "420202209912311234",  # born in the future
        "老编号 420202801301123",  # 15 digits, month 13
        f"{CARD[:-1]}{(int(CARD[-1]) + 1) % 10}",  # fails Luhn
    ],
)
def test_ordinary_numbers_are_kept(text):
    assert mask(text) == text


def test_masked_before_rasa_log_and_log_lines(make_client, fake_rasa, caplog):
    caplog.set_level(logging.DEBUG)
    rasa = fake_rasa("normal")
    client = make_client(rasa)
    spaced_id = spaced(ID, [6, 8, 4])
    message = f"我叫张三，身份证{spaced_id}，手机{MOBILE}，银行卡{CARD}，盲人按摩怎么考？"
    response = client.post("/api/chat", json={"message": message})
    assert response.status_code == 200
    # Rasa received masked text only.
    sent = rasa.received[-1]["message"]
    assert ID_CARD_MASK in sent and MOBILE_MASK in sent and BANK_CARD_MASK in sent
    client.get("/api/history")
    db_path = client.app.state.settings.conversation_db
    stored = b""
    for path in (db_path, db_path.with_name(db_path.name + "-wal")):
        if path.exists():
            stored += path.read_bytes()
    assert stored, "the conversation log wrote nothing"
    assert "盲人按摩怎么考".encode() in stored  # the turn is really there
    everything = stored.decode("utf-8", "replace") + caplog.text + response.text
    for secret in (ID, spaced_id, MOBILE, CARD):
        assert secret not in everything


def test_mistyped_identity_number_is_kept_out_of_log_and_csv(signed_in):
    """The new-user trial: an ID with a wrong check digit was stored in full."""
    secret, phone = "420202198001011234", "13912345678"
    assert not id18_valid(secret)
    signed_in.post("/api/chat", json={"message": f"我身份证{secret}手机{phone}"})
    [turn] = signed_in.app.state.conversation_log.turns()
    assert turn["message"] == f"我身份证{ID_CARD_MASK}手机{MOBILE_MASK}"
    csv_text = signed_in.get("/console/log.csv").text
    log_page = signed_in.get("/console/log").text
    db_path = signed_in.app.state.settings.conversation_db
    stored = b"".join(
        p.read_bytes() for p in (db_path, db_path.with_name(db_path.name + "-wal")) if p.exists()
    )
    for shown in (csv_text, log_page, stored.decode("utf-8", "replace")):
        assert secret not in shown and phone not in shown
    assert ID_CARD_MASK in csv_text
