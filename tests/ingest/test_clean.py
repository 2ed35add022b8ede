"""ingest.clean: furniture goes, real content stays, on the bundled notes and on small strings."""

from __future__ import annotations

import json
import re
import time
from functools import cache
from pathlib import Path

import pytest

from ingest.clean import clean_text, fold, match_key

ROOT = Path(__file__).resolve().parents[2]
NOTES = ROOT / "notes"
DEV_QA = ROOT / "bench" / "dev_qa.jsonl"

GITER = "000_20a23b293464c974.txt"
CSDN = "001_4466b67d58c97d80.txt"
TRADITIONAL = "002_83dbae278224fd8d.txt"
RECOMMENDED = "003_2d331f2dac39af09.txt"
BLOG = "004_c53eff2fd372bf53.txt"


@cache
def cleaned(name: str) -> str:
    return clean_text((NOTES / name).read_text(encoding="utf-8"))


def lines_of(name: str) -> set[str]:
    return set(cleaned(name).split("\n"))


def _evidence() -> list[tuple[str, str, tuple[str, ...]]]:
    items: list[tuple[str, str, tuple[str, ...]]] = []
    for raw in DEV_QA.read_text(encoding="utf-8").splitlines():
        item = json.loads(raw)
        items.extend((item["id"], text, tuple(item["sources"])) for text in item["evidence"])
    return items


EVIDENCE = _evidence()


def test_the_bundled_notes_are_there() -> None:
    assert sorted(p.name for p in NOTES.glob("*.txt")) == sorted(
        [GITER, CSDN, TRADITIONAL, RECOMMENDED, BLOG]
    )
    assert len(EVIDENCE) >= 25  # otherwise the evidence test below proves little


@pytest.mark.parametrize(("qid", "evidence", "sources"), EVIDENCE, ids=[e[0] for e in EVIDENCE])
def test_every_dev_evidence_survives_in_its_source(
    qid: str, evidence: str, sources: tuple[str, ...]
) -> None:
    key = match_key(evidence)
    found = [name for name in sources if key in match_key(cleaned(name))]
    assert found, f"{qid}: {evidence!r} lost from {sources}"


# --- noise is gone from the real notes ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "line"),
    [
        (GITER, "Giter VIP home page Giter VIP logo"),
        (GITER, "llmsstudy's People"),
        (GITER, "Contributors"),
        (GITER, "xingyu-zhong avatar"),
        (GITER, "[官方网站] [Github] [论文]"),
        (GITER, "[官方网站]"),
        (CSDN, "评论"),
        (CSDN, "添加红包"),
        (CSDN, "红包金额最低5元"),
        (CSDN, "打赏作者"),
        (CSDN, "扫码支付"),
        (CSDN, "余额充值"),
        (CSDN, "成就一亿技术人!"),
        (CSDN, "国家一级假勤奋研究牲"),
        (TRADITIONAL, "評論"),
        (TRADITIONAL, "查看更多"),
        (TRADITIONAL, "?"),
        (BLOG, "2"),
    ],
)
def test_furniture_lines_are_dropped(name: str, line: str) -> None:
    assert line not in lines_of(name)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        (CSDN, "私信博主"),  # the download ad pasted in one long line
        (CSDN, "红包"),
        (CSDN, "余额"),
        (TRADITIONAL, "交流群"),
        (TRADITIONAL, "轉載請注明出處"),
        (TRADITIONAL, "原文標題"),
        (RECOMMENDED, "版权归原作者所有"),
        (RECOMMENDED, "插入图片描述"),
        (RECOMMENDED, "随机推荐"),
        (RECOMMENDED, "的相关文章"),
        (RECOMMENDED, "vue实现网页截图"),
        (RECOMMENDED, "openssl pkcs12"),
        (GITER, "Recommend Projects"),
        (GITER, "JavaScript library"),
        (GITER, "Open source projects and samples from Microsoft"),
    ],
)
def test_noise_fragments_are_gone(name: str, fragment: str) -> None:
    assert fragment not in cleaned(name)


@pytest.mark.parametrize("name", [GITER, CSDN, TRADITIONAL, RECOMMENDED, BLOG])
def test_no_image_placeholder_left(name: str) -> None:
    assert not re.search(r"image-\d{8,}", cleaned(name))
    assert "图片描述" not in cleaned(name)


def test_pinyin_debris_is_gone_from_the_traditional_note() -> None:
    raw = (NOTES / TRADITIONAL).read_text(encoding="utf-8")
    debris = re.compile(r"[(（][a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ][a-zü]*[)）]")
    assert len(debris.findall(raw)) > 100  # the note really is full of it
    text = cleaned(TRADITIONAL)
    assert debris.findall(text) == []
    assert "發展" in text and "學習" in text and "預訓練" in text
    assert "LLaMA,Falcon, OpenLLaMA" in text
    # real parentheses in the same note survive
    assert "Stage 1: 預訓練(Pretrain)" in text.split("\n")
    assert "英文叫PEFT(Parameter-Efficient Fine-Tuning)" in text


@pytest.mark.parametrize(
    ("name", "last_line"),
    [
        (GITER, "• Lamini. Repo/Blog"),
        (CSDN, "参考文献:RUC赵老师组的大模型综述(中英双版,非常nice,推荐阅读)"),
        (TRADITIONAL, "https://github.com/qwopqwop200/GPTQ-for-LLaMa"),
        (BLOG, "1.llm综述"),
    ],
)
def test_each_note_ends_with_its_last_real_line(name: str, last_line: str) -> None:
    assert cleaned(name).split("\n")[-1] == last_line


def test_recommended_list_is_cut_and_article_end_kept() -> None:
    text = cleaned(RECOMMENDED)
    assert text.split("\n")[-1].startswith("我认为更多可能是通过GPT系列的实验")
    assert text.count("大模型Founation Model") == 1  # the title, not the self-link in the list


# --- real content next to noise stays -----------------------------------------------


@pytest.mark.parametrize(
    ("name", "line"),
    [
        (GITER, "大模型推荐"),  # a heading with 推荐 that is not a recommended-list header
        (GITER, "不同任务实验过程中,相对而言整体效果还不错的模型列表。"),
        (GITER, "TigerBot 2023-08 7/13/70B TigerBotStar 虎博科技"),  # a table row
        (GITER, "Transformer结构"),  # heading right before an image placeholder
        (GITER, "3. SuperCLUElyb Star"),  # before a link-label line
        (GITER, "• MOSS. Repo"),
        (CSDN, "结合验证集的loss来做early stop"),
        (TRADITIONAL, "4 bits quantization of LLaMA using GPTQ."),
        (RECOMMENDED, "参数量:"),  # the placeholder between these two is gone
        (RECOMMENDED, "介绍:Facebook,开发类gpt的模型,OPT-175B效果=GPT3,同时开发碳排放=1/7。"),
        (RECOMMENDED, "GLM在 MMLU 上略优于 GPT-3 175B(+0.9%)"),
        (BLOG, "3D并行:"),  # before the code gutter numbers
        (BLOG, "流水线并行:将 LLM 的不同层分配到多个 GPU 上"),
        (BLOG, "Posted by zwt on August 5, 2023"),
    ],
)
def test_real_lines_near_noise_survive(name: str, line: str) -> None:
    assert line in lines_of(name)


def test_line_structure_is_kept() -> None:
    text = cleaned(GITER)
    assert "\n\n\n" not in text
    assert "大模型评估基准\n\n1. C-Eval Star\n\n提供了13948个" in text
    assert "• SmoothQuant\n• ZeroQuant\n• GPTQ" in text  # list items stay one a line
    # a note with no blank lines keeps its single line breaks
    assert "RedPajama\n參考LLaMA論文中的訓練數據" in cleaned(TRADITIONAL)


def test_cleaning_the_notes_is_fast() -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted(NOTES.glob("*.txt"))]
    clean_text(texts[0])  # builds the OpenCC converter once
    start = time.perf_counter()
    for text in texts:
        clean_text(text)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("name", [GITER, CSDN, TRADITIONAL, RECOMMENDED, BLOG])
def test_clean_is_idempotent_on_the_notes(name: str) -> None:
    assert clean_text(cleaned(name)) == cleaned(name)


# --- small strings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("發(fā)展", "發展"),
        ("發（fā）展", "發展"),  # full-width brackets
        ("學(xué)習(xí)大模型", "學習大模型"),
        ("自注意力机制(Self-Attention)", "自注意力机制(Self-Attention)"),
        ("batch_size尽量大(2048-成千上万)", "batch_size尽量大(2048-成千上万)"),
        ("拼音(pinyin)和(RW+RLHF)", "拼音(pinyin)和(RW+RLHF)"),  # no tone mark: not debris
        ("咖啡(café)很香", "咖啡(café)很香"),  # tone-marked but not a pinyin syllable
        ("词(cí yǔ)", "词(cí yǔ)"),  # two syllables: a real gloss, not debris
        ("命令(run)和(man)", "命令(run)和(man)"),  # valid syllables, but no tone mark
    ],
)
def test_pinyin_debris_vs_real_parentheses(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_a_sentence_mentioning_furniture_words_survives() -> None:
    text = (
        "正文。\n\n分享\n\n今天和大家分享一下LoRA的原理,觉得有用请点赞收藏。\n\n点赞 12 收藏 3 分享"
    )
    assert clean_text(text) == "正文。\n\n今天和大家分享一下LoRA的原理,觉得有用请点赞收藏。"


def test_share_targets_need_a_real_label() -> None:
    assert clean_text("分享到 微信 微博") == ""
    assert clean_text("微信\n\n小程序的登录流程") == "微信\n\n小程序的登录流程"


def test_recommended_list_until_prose_resumes() -> None:
    text = (
        "正文第一段。\n\n相关推荐\n\n  • 标题一\n    摘要一 没有标点的片段\n  • 标题二\n"
        "短标题行\n\n这是恢复的正文内容,长度足够长并且带有标点符号,所以它应该被保留下来,不算推荐列表。"
    )
    assert clean_text(text) == (
        "正文第一段。\n\n这是恢复的正文内容,长度足够长并且带有标点符号,所以它应该被保留下来,不算推荐列表。"
    )


def test_recommended_list_at_the_end_without_bullets() -> None:
    text = "模型训练需要大量数据。\n\n【推荐阅读】\n深入浅出LoRA\n一文看懂RLHF\n"
    assert clean_text(text) == "模型训练需要大量数据。"


def test_recommendation_in_running_text_is_not_a_header() -> None:
    text = "这本书值得推荐阅读,里面讲了大模型训练的经验。\n短行一\n短行二"
    assert clean_text(text) == text


def test_boilerplate_needs_several_cues() -> None:
    ad = "本项目源码均已测试,可私信博主购买,请勿用于商业用途,如有侵权请联系删除。" * 2
    # a long line with two cues is still prose
    real = (
        "我们在GitHub上下载了LoRA的源码,又购买了一台云服务器,然后在自己的数据集上进行了微调,"
        "效果比全量微调更稳定,显存占用也小很多。"
    )
    assert len(real) > 60
    assert clean_text(f"{ad}\n\n{real}") == real


def test_whitespace_and_newlines_are_normalised() -> None:
    assert clean_text("a  \t b   \r\n\r\n\r\n\r\nc\rd  ") == "a b\n\nc\nd"
    assert clean_text("  • 缩进的列表项\n\t第二行") == "• 缩进的列表项\n第二行"
    assert clean_text("x\u00a0\u3000y\u200b") == "x y"


def test_code_gutter_numbers_go_but_a_lone_number_stays() -> None:
    assert clean_text("代码:\n1\n2\n3\nx = 1") == "代码:\nx = 1"
    assert clean_text("GLM\n130\nBLOOM\n176") == "GLM\n130\nBLOOM\n176"


def test_markdown_rules_and_table_separators_stay() -> None:
    table = "| 模型 | 参数 |\n|---|---|\n| GLM | 130B |\n\n---"
    assert clean_text(table) == table


def test_fold_traditional_equals_simplified() -> None:
    assert fold("發展 學習 數據 評論") == "发展 学习 数据 评论"
    assert fold("大模型發(fā)展") == fold("大模型发展") == "大模型发展"


def test_fold_normalises_width_and_case_and_keeps_whitespace() -> None:
    assert fold("ＡＢＣ１２３（測試）") == "abc123(测试)"
    assert fold("LoRA  微調\n下一行") == "lora  微调\n下一行"


def test_match_key_drops_all_whitespace() -> None:
    assert match_key("LLaMA + 擴(kuò)詞表 + lora") == "llama+扩词表+lora"
    assert match_key(" TigerBot\t2023-08 \n 7/13/70B ") == "tigerbot2023-087/13/70b"


@pytest.mark.parametrize(
    "text",
    [
        "  標題\r\n\r\n\r\n發(fā)展  很快\n\n分享\n\n相关推荐\n• a\n    b\n\n"
        "正文恢复了,这一行足够长,而且带有标点符号,所以会被保留下来。",
        "image-20231010150630814\n\n| a | b |\n|---|---|\n1\n2\n\n\n\nend",
    ],
)
def test_clean_is_idempotent_on_small_strings(text: str) -> None:
    once = clean_text(text)
    assert once != text  # something was cleaned, so the second pass has a real job
    assert clean_text(once) == once


# Text that is not from the bundled notes: the cleaner must keep every real sentence.
NOT_NOTES = {
    "news": (
        "2月20日，中国足协宣布了新赛季的赛程安排。\n新赛季将于3月1日开幕，共有16支球队参赛。\n"
        "分享到：\n责任编辑：王明",
        ["2月20日，中国足协宣布了新赛季的赛程安排。", "新赛季将于3月1日开幕，共有16支球队参赛。"],
    ),
    "wechat": (
        "点击上方蓝字关注我们\n\n今天上午，市图书馆新馆正式开放，馆内藏书超过两百万册。\n\n"
        "新馆每天开放十二个小时，周一闭馆。\n\n长按识别二维码\n阅读原文\n分享 收藏 点赞 在看",
        [
            "今天上午，市图书馆新馆正式开放，馆内藏书超过两百万册。",
            "新馆每天开放十二个小时，周一闭馆。",
        ],
    ),
    "one line": (
        "今年春节档电影总票房突破80亿元，创下历史新高。",
        ["今年春节档电影总票房突破80亿元"],
    ),
    "report": (
        "# 季度报告\n\n本季度营收为3.2亿元，同比增长12%。\n\n| 区域 | 营收 |\n| 华东 | 1.6亿 |\n"
        "| 华南 | 0.9亿 |\n\n下季度的目标是增长15%。",
        ["本季度营收为3.2亿元，同比增长12%。", "| 华东 | 1.6亿 |", "下季度的目标是增长15%。"],
    ),
}


@pytest.mark.parametrize("name", sorted(NOT_NOTES))
def test_real_sentences_of_other_texts_survive(name: str) -> None:
    text, sentences = NOT_NOTES[name]
    cleaned = clean_text(text)
    for sentence in sentences:
        assert sentence in cleaned, (name, sentence, cleaned)
