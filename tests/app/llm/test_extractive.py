from __future__ import annotations

from app.lang import refusal
from app.llm import make_generator
from app.llm.base import GenerationRequest, Generator, Message, complete
from app.llm.extract_terms import bigrams, question_terms
from app.llm.extractive import (
    MAX_ANSWER_CHARS,
    ExtractiveGenerator,
    best_sentences,
    split_sentences,
)
from app.settings import LLMSettings

PASSAGES = [
    "BM25 是一种经典的关键词排序函数。它根据词频和逆文档频率打分。",
    "FAISS 是 Facebook 开源的向量检索库。它支持近似最近邻搜索。",
    "Reciprocal rank fusion merges rankings. It adds 1/(k+rank) for every list.",
]


def _request(question: str, passages: list[str] = PASSAGES) -> GenerationRequest:
    return GenerationRequest(
        messages=[Message("user", question)], question=question, passages=passages
    )


def test_made_by_the_factory_and_is_a_generator() -> None:
    generator = make_generator(LLMSettings(backend="extractive"))
    assert isinstance(generator, Generator)
    assert generator.name == "extractive"
    assert generator.context_window == 4096


def test_answers_with_the_best_sentence_and_its_citation() -> None:
    answer = complete(ExtractiveGenerator(), _request("FAISS 是什么向量检索库？"))
    assert answer.startswith("FAISS 是 Facebook 开源的向量检索库。[2]")
    assert "BM25" not in answer


def test_english_sentences_cited_with_a_space() -> None:
    answer = complete(ExtractiveGenerator(), _request("How does reciprocal rank fusion merge?"))
    assert answer.startswith("Reciprocal rank fusion merges rankings. [3]")


def test_streams_piece_by_piece() -> None:
    pieces = list(ExtractiveGenerator().stream(_request("FAISS 向量检索库")))
    assert len(pieces) >= 2
    assert "".join(pieces).count("[2]") >= 1


def test_at_most_three_sentences_best_first() -> None:
    passages = [f"检索方法第{i}种：向量检索。" for i in range(6)]
    chosen = best_sentences("向量检索", passages)
    assert 1 <= len(chosen) <= 3
    assert [c.passage for c in chosen] == [1, 2, 3]  # equal scores keep retrieval order


def test_weak_matches_do_not_pad_a_strong_answer() -> None:
    passages = ["向量检索库 FAISS 支持近似最近邻搜索。", "近似的库存数字很重要。"]
    question = "FAISS 支持近似最近邻搜索吗"
    assert len(bigrams(question) & bigrams(passages[1])) == 1  # a stray overlap: 近似
    chosen = best_sentences(question, passages)
    assert [c.passage for c in chosen] == [1]


def test_repeated_sentences_from_overlapping_chunks_appear_once() -> None:
    answer = complete(ExtractiveGenerator(), _request("FAISS 向量检索库", [PASSAGES[1]] * 2))
    assert answer.count("FAISS 是 Facebook 开源的向量检索库。") == 1


def test_refuses_in_chinese_when_nothing_overlaps() -> None:
    assert complete(ExtractiveGenerator(), _request("天气怎么样")) == refusal("zh")


def test_refuses_in_english_for_an_english_question() -> None:
    assert complete(ExtractiveGenerator(), _request("xyz qqq", passages=[])) == refusal("en")


# Shaped like the bundled notes: a section heading, a label, its numbered list, the next label.
RAG_NOTE = """1. 外挂知识库

1. 从知识库中挑选问题相关的内容,涉及对文档的加载,切分,向量化,相似度对比等操作
2. 挑选出与问答内容相关的知识内容,输入给大模型,涉及prompt的编写

具体流程:

1. 知识库文件转换为文本格式
2. 文本分割
3. 文本向量化(将分割好的文本转化为数值向量,方便计算文本相似度)

具体的方案实现:

• 模型的选择:开源or闭源
• 模型应用开发工具:langchain"""


def test_a_matching_label_answers_with_the_list_that_follows_it() -> None:
    answer = complete(ExtractiveGenerator(), _request("外挂知识库的具体流程是什么？", [RAG_NOTE]))
    assert answer == (
        "具体流程:\n1. 知识库文件转换为文本格式\n2. 文本分割\n"
        "3. 文本向量化(将分割好的文本转化为数值向量,方便计算文本相似度)[1]"
    )


def test_a_heading_introduces_the_lines_under_it_up_to_the_next_heading() -> None:
    note = (
        "Koala\nLLaMA13B基於ChatGPT Distillation Data和Open Source Data訓練而來。\n"
        "https://bair.berkeley.edu/blog/2023/04/03/koala/\nOpenBuddy(支持中文)\n"
        "基於LLaMA微調的,只說用了對話數據。"
    )
    chosen = best_sentences("Koala 用了什么数据？", [note])
    assert chosen[0].text == (
        "Koala\nLLaMA13B基於ChatGPT Distillation Data和Open Source Data訓練而來。"
    )


def test_a_heading_sharing_one_common_word_does_not_bring_its_lines() -> None:
    note = "吴恩达大模型系列课程\n包括 提示词工程,langchain"
    assert best_sentences("大模型评测用哪些基准？", [note]) == []
    assert best_sentences("吴恩达的大模型课程包括什么？", [note])[0].text == note


def test_labels_and_fragments_are_never_quoted_on_their_own() -> None:
    passages = [
        "模型量化",
        "模型量化方法:",
        "量化方法。",
        "常见的模型量化方法有 GPTQ 和 AWQ 两种。",
    ]
    chosen = best_sentences("模型量化有哪些方法？", passages)
    assert [c.text for c in chosen] == ["常见的模型量化方法有 GPTQ 和 AWQ 两种。"]


def test_questions_in_the_notes_are_not_answers() -> None:
    passages = ["想要研究学习大模型,应该从哪里开始学习呢?", "学习大模型可以从体验大模型开始。"]
    assert [c.passage for c in best_sentences("学习大模型应该从哪里开始？", passages)] == [2]


def test_a_long_sentence_does_not_win_by_size_alone() -> None:
    long = (
        "FAISS 是 Facebook 开源的向量检索库，它用 C++ 写成，带有 Python 接口，可以在 CPU 和 "
        "GPU 上运行，支持多种索引结构，包括倒排索引、乘积量化和图索引，适合从几千条到几十亿条"
        "向量的检索。"
    )
    short = "FAISS 是一个向量检索库。"
    question = "FAISS 是什么样的向量检索库？"
    # The long sentence holds every question term the short one does, and more words.
    assert bigrams(short) & question_terms(question) <= bigrams(long)
    answer = complete(ExtractiveGenerator(), _request(question, [long, short]))
    assert answer == "FAISS 是一个向量检索库。[2]"


def test_several_sentences_of_one_passage_keep_the_passage_order() -> None:
    passage = (
        "FAISS 支持近似最近邻搜索，这是它在向量数据库里被广泛使用的原因之一。"
        "FAISS 也支持近似最近邻搜索的 GPU 版本。"
    )
    question = "FAISS 支持近似最近邻搜索吗"
    chosen = best_sentences(question, [passage])
    assert [c.text for c in chosen] == [
        "FAISS 也支持近似最近邻搜索的 GPU 版本。",  # best first
        "FAISS 支持近似最近邻搜索，这是它在向量数据库里被广泛使用的原因之一。",
    ]
    assert complete(ExtractiveGenerator(), _request(question, [passage])) == (
        "FAISS 支持近似最近邻搜索，这是它在向量数据库里被广泛使用的原因之一。"
        "FAISS 也支持近似最近邻搜索的 GPU 版本。[1]"
    )


def test_traditional_passages_match_simplified_questions_and_are_quoted_as_written() -> None:
    passages = ["今天天气很好，适合出门散步。", "Koala 基於 ChatGPT 蒸餾數據和開源數據訓練而來。"]
    question = "Koala 是基于什么数据训练的？"
    assert not {"基于", "数据", "训练"} & bigrams(passages[1])  # unfolded, nothing matches
    answer = complete(ExtractiveGenerator(), _request(question, passages))
    assert answer == "Koala 基於 ChatGPT 蒸餾數據和開源數據訓練而來。[2]"


def test_the_answer_is_capped() -> None:
    items = "\n".join(
        f"{i}. 第{i}步把文本分割成段落，再向量化后写入向量库以便检索。" * 2 for i in range(1, 9)
    )
    answer = complete(ExtractiveGenerator(), _request("具体流程是什么", [f"具体流程:\n{items}"]))
    body = answer.removesuffix("[1]")
    assert body.startswith("具体流程:\n1. ")
    assert len(body) <= MAX_ANSWER_CHARS
    assert body.endswith("以便检索。")  # cut after a whole line of the list, not inside one
    one_sentence = "文本分割" + "，再向量化后写入向量库" * 60 + "。"
    answer = complete(ExtractiveGenerator(), _request("文本分割", [one_sentence]))
    assert len(answer.removesuffix("[1]")) == MAX_ANSWER_CHARS
    assert answer.endswith("…[1]")


def test_question_words_are_not_terms() -> None:
    assert question_terms("What is BM25?") == {"bm25"}
    assert not {"什么", "是什", "哪些"} & question_terms("BM25 是什么？有哪些用途？")


def test_split_sentences_on_chinese_and_english_punctuation() -> None:
    assert split_sentences("第一句。第二句！Third one. Fourth?\n第五句") == [
        "第一句。",
        "第二句！",
        "Third one.",
        "Fourth?",
        "第五句",
    ]


def test_semicolons_do_not_split_a_list_into_fragments() -> None:
    assert split_sentences("文本向量化TF-IDF ;word2vec;语言模型") == [
        "文本向量化TF-IDF ;word2vec;语言模型"
    ]


def test_bigrams_lowercase_and_stay_inside_words() -> None:
    assert bigrams("Ab 向量") == {"ab", "向量"}
    assert bigrams("A 库") == {"a", "库"}


def test_bigrams_keep_latin_words_whole_and_split_at_a_change_of_script() -> None:
    assert bigrams("LLaMA13B基于ChatGPT batch_size") == {
        "llama13b",
        "基于",
        "chatgpt",
        "batch",
        "size",
    }
