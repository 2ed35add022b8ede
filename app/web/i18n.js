// Interface text in English and Chinese, picked from navigator.language (zh* -> Chinese).
// Only the interface is translated; answers come in whatever language the server wrote.

const MESSAGES = {
  en: {
    title: "notesqa: ask your notes",
    tagline: "Ask your notes",
    skipToQuestion: "Skip to the question box",
    newChat: "New chat",
    knowledgeBase: "Knowledge base",
    openKnowledgeBase: "Show the knowledge base",
    closePanel: "Close",
    documentsLoading: "Loading documents…",
    documentsEmpty: "The index holds no documents yet. Run `notesqa build` to add some.",
    documentsError: "Could not load the documents: {message}",
    chunks: "{n} chunks",
    pages: "{n} pages",
    indexedAt: "indexed {date}",
    statusLoading: "Connecting…",
    statusIndex: "index {index}",
    statusModel: "model {model}",
    statusCounts: "{documents} documents · {chunks} chunks",
    statusUnavailable: "Server unavailable: {message}",
    statusTimings: "Last answer: {stages}",
    "timing.rewrite": "rewrite",
    "timing.retrieve": "retrieve",
    "timing.rerank": "rerank",
    "timing.first_token": "first token",
    "timing.generate": "generate",
    "timing.total": "total",
    emptyTitle: "Ask a question about your notes",
    emptyBody:
      "Answers are written only from the documents in the knowledge base, and every claim cites the passage it comes from.",
    inputLabel: "Your question",
    inputPlaceholder: "Ask a question… (Enter to send, Shift+Enter for a new line)",
    send: "Send",
    stop: "Stop",
    you: "You",
    assistant: "notesqa",
    thinking: "Searching the notes…",
    stopped: "Stopped",
    stoppedNote: "You stopped this answer; what had arrived is kept.",
    refusedLabel: "Not in the knowledge base",
    flagged: "Some statements in this answer may not be supported by the cited passages.",
    sourcesLabel: "Sources",
    citation: "Open source {n}",
    citationMissing: "Source {n} was not returned",
    sourceTitle: "Source [{n}]",
    page: "page {n}",
    passagePanel: "Cited passage",
    errorTitle: "Something went wrong",
    errorNetwork: "Cannot reach the server. Check that notesqa is running and try again.",
    errorHttp: "The server answered {status}: {message}",
    errorHttpNoBody: "The server answered {status} {statusText}.",
    errorStream: "The answer failed: {message}",
    errorCutOff: "The connection closed before the answer was complete.",
    errorUnexpected: "The page failed to show the answer: {message}",
    conversation: "Conversation",
  },
  zh: {
    title: "notesqa：笔记问答",
    tagline: "向笔记提问",
    skipToQuestion: "跳到提问框",
    newChat: "新对话",
    knowledgeBase: "知识库",
    openKnowledgeBase: "显示知识库",
    closePanel: "关闭",
    documentsLoading: "正在加载文档…",
    documentsEmpty: "索引里还没有文档。运行 `notesqa build` 添加文档。",
    documentsError: "无法加载文档列表：{message}",
    chunks: "{n} 个片段",
    pages: "{n} 页",
    indexedAt: "索引于 {date}",
    statusLoading: "正在连接…",
    statusIndex: "索引 {index}",
    statusModel: "模型 {model}",
    statusCounts: "{documents} 篇文档 · {chunks} 个片段",
    statusUnavailable: "服务不可用：{message}",
    statusTimings: "上次回答：{stages}",
    "timing.rewrite": "改写",
    "timing.retrieve": "检索",
    "timing.rerank": "重排",
    "timing.first_token": "首字",
    "timing.generate": "生成",
    "timing.total": "总计",
    emptyTitle: "向你的笔记提问",
    emptyBody: "回答只依据知识库中的文档，每一句都会标注出处，点击编号即可查看原文。",
    inputLabel: "你的问题",
    inputPlaceholder: "输入问题…（Enter 发送，Shift+Enter 换行）",
    send: "发送",
    stop: "停止",
    you: "你",
    assistant: "notesqa",
    thinking: "正在检索笔记…",
    stopped: "已停止",
    stoppedNote: "回答已被你停止，已收到的部分保留如下。",
    refusedLabel: "知识库中没有相关内容",
    flagged: "这个回答中的部分内容可能没有出处支持。",
    sourcesLabel: "出处",
    citation: "查看出处 {n}",
    citationMissing: "没有返回出处 {n}",
    sourceTitle: "出处 [{n}]",
    page: "第 {n} 页",
    passagePanel: "引用原文",
    errorTitle: "出错了",
    errorNetwork: "无法连接服务器。请确认 notesqa 正在运行，然后重试。",
    errorHttp: "服务器返回 {status}：{message}",
    errorHttpNoBody: "服务器返回 {status} {statusText}。",
    errorStream: "回答失败：{message}",
    errorCutOff: "回答还没有完成，连接就断开了。",
    errorUnexpected: "页面无法显示回答：{message}",
    conversation: "对话",
  },
};

const browserLanguage = navigator.language || navigator.languages?.[0] || "en";

/** "zh" for any Chinese browser language (zh, zh-CN, zh-TW, zh-Hans...), else "en". */
export const lang = browserLanguage.toLowerCase().startsWith("zh") ? "zh" : "en";

/** The value for <html lang>: the browser's own Chinese variant, else "en". */
export const htmlLang = lang === "zh" ? browserLanguage : "en";

/** Interface text for `key` (else `fallback`), with `{name}` placeholders from `params`. */
export function t(key, params = {}, fallback = key) {
  const text = MESSAGES[lang][key] ?? MESSAGES.en[key] ?? fallback;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    name in params ? String(params[name]) : whole,
  );
}

/** Fill every [data-i18n], [data-i18n-placeholder], [data-i18n-aria-label], [data-i18n-title]. */
export function translatePage(root = document) {
  document.documentElement.lang = htmlLang;
  document.title = t("title");
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) {
    el.title = t(el.dataset.i18nTitle);
  }
}

/** A short, locale-aware date and time ("2024/5/1 18:11" or "May 1, 2024, 6:11 PM"). */
export function formatDate(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(htmlLang, { dateStyle: "medium", timeStyle: "short" }).format(
    date,
  );
}

/** Seconds as "85 ms" or "1.2 s". */
export function formatSeconds(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
}
