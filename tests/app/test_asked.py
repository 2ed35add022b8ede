"""What a question asks for (a time, a figure), and whether an answer gives it.

Plain functions on strings: no model, no index. The check's place in grounding is tested
in tests/app/test_answerability.py.
"""

from __future__ import annotations

import pytest

from app.answer.asked import asked_for, figures, gives_figure


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("马克龙访华时间？", "time"),
        ("神舟十六号是什么时候发射的？", "time"),
        ("《阿凡达：水之道》国内上映日期", "time"),
        ("When was GLM-130B released?", "time"),
        ("When did Meta release LLaMA?", "time"),
        ("When were the Chinchilla scaling laws published?", "time"),
        ("2021年中国外贸进出口规模是多少美元", "figure"),
        ("它覆盖了多少个学科？分为几个难度等级？", "figure"),
        ("卡塔尔世界杯是阿根廷队第几次夺冠", "figure"),
        ("How many e-books does BookCorpus contain?", "figure"),
        ("In which year did Google publish the Transformer? When did BERT appear?", "time"),
        # "when" in a clause, or asking for a condition: not a time.
        ("Which choices are recommended when building an LLM?", None),
        ("When tuning a model on a million examples, how many epochs are enough?", "figure"),
        ("When does the else clause of a while loop run?", None),
        # A list, a name, a reason: the answer's form says nothing.
        ("入门学习大模型的路径分为哪几个阶段？", None),
        ("《七人乐队》的导演是谁？", None),
        ("训练时间和显存有什么关系？", None),
        ("Why might training on source code help a language model?", None),
    ],
)
def test_what_the_question_asks_for(question: str, asked: str | None) -> None:
    assert asked_for(question) == asked


def test_figures_are_read_as_written_in_one_form() -> None:
    text = "时间是11月15日至16日，第三次，分为四个等级，共2,048个样本，687亿美元，增长14.9%"
    assert figures(text) == {
        "11月15日", "16日", "第3", "4个", "2048个", "687亿美元", "14.9%",
    }  # fmt: skip
    # Chinese numerals count with a unit only: 一些 and 统一 are not figures.
    assert figures("一些模型统一了接口") == set()
    assert figures("It comes in three sizes") == {"3"}
    # Spaces inside a date go; spaces between two numbers (a table row's cells) stay.
    assert figures("2021 年 12 月 25 日") == {"2021年12月25日"}
    assert figures("TigerBot 2023-08 7/13/70B 虎博科技") == {"2023", "08", "7", "13", "70"}


def test_an_answer_must_give_a_figure_its_passages_hold() -> None:
    passage = ["加冕礼的公众庆祝活动包括5月7日的加冕大午餐会。", "中关村论坛定于5月25日开幕。"]
    # A sentence about the event, without the date asked for.
    assert not gives_figure("马克龙的访华行程也没有记者跟随。", "马克龙访华时间？", passage)
    # A date no passage states (the page's own date was 26 May): not given by them.
    assert not gives_figure("2023中关村论坛开幕时间是5月26日。", "2023中关村论坛开幕时间", passage)
    assert gives_figure("2023中关村论坛5月25日开幕。", "2023中关村论坛开幕时间", passage)
    # A figure the question itself holds is not an answer.
    assert not gives_figure("2023年的论坛开幕了。", "2023中关村论坛开幕时间", passage)
    # A number in a name the question asks about may be the answer.
    glm = ["GLM-130B：130B 参数"]
    assert gives_figure("GLM-130B 有 130B 参数。", "GLM-130B 的参数量是多少？", glm)
    # Whole numbers: 7 is not held by 17.
    assert not gives_figure("共7人。", "有多少人？", ["共17人参加。"])


def test_a_figure_must_come_in_the_unit_the_question_names() -> None:
    passage = ["2021年我国出口国际市场份额为14.9%，外贸进出口总额6.05万亿美元。"]
    question = "2021年中国外贸进出口规模是多少美元"
    assert not gives_figure("2021年中国外贸进出口规模为14.9%。", question, passage)
    assert gives_figure("外贸进出口总额为6.05万亿美元。", question, passage)
    # 多少钱: any currency.
    assert gives_figure("微软花了687亿美元。", "微软花了多少钱收购动视暴雪", ["以687亿美元收购"])
