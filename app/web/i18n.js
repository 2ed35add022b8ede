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
    documentsEmpty: "This knowledge base holds no documents yet. Add files to its folder and run `notesqa build`.",
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
    apiKeyTitle: "This server needs an API key",
    apiKeyBody: "Ask the server's operator for a key. It is kept for this browser session only.",
    apiKey: "API key",
    chooseKnowledgeBase: "Choose a knowledge base",
    documents: "Documents",
    documentsEmptyAdmin: "No documents yet: drop files below to add some.",
    manage: "Manage",
    adminToken: "Admin token (NOTESQA_ADMIN_TOKEN)",
    adminTokenNeeded: "Enter the admin token first.",
    tokenSaved: "Token kept for this browser session.",
    save: "Save",
    dropFiles: "Drop files here, or",
    chooseFiles: "choose files",
    rebuild: "Rebuild the index",
    newKnowledgeBase: "New knowledge base",
    kbNameRule: "Letters, digits, _ or -, starting with a letter or digit",
    create: "Create",
    created: "Created {name}; its documents folder is {folder}.",
    deleteDocument: "Delete {name}",
    confirmDelete: "Delete {name} from the knowledge base? The index is rebuilt without it.",
    deleted: "Deleted {name}; rebuilding…",
    uploading: "Uploading {n} file(s)…",
    uploaded: "Uploaded {names}; rebuilding…",
    rebuilt: "Index rebuilt: {added} added, {updated} updated, {removed} removed, {failed} failed.",
    rebuildFailed: "The rebuild failed; the previous index still serves. {message}",
    "stage.load": "load",
    "stage.clean": "clean",
    "stage.split": "split",
    "stage.embed": "embed",
    "stage.write": "write",
    "status.pending": "not indexed yet",
    "status.changed": "changed since indexing",
    "status.missing": "deleted; removed at the next rebuild",
    hitTest: "Hit testing",
    hitTestIntro:
      "See which passages a question finds, with their scores, and why it would be answered or refused. The model is not asked.",
    hitTestPlaceholder: "A question to test…",
    hitTestRun: "Test",
    hitTestRunning: "Searching…",
    hitTestFigures: "best relevance {best} · threshold {threshold}",
    hitTestQueries: "searched as: {queries}",
    hitTestNoPassages: "No passage was found.",
    hitTestPassage: "Passage",
    hitTestTable: "Passages and their scores",
    "decision.answer": "Would be answered",
    "decision.refuse": "Would be refused",
    "decision.model decides": "Passes retrieval: the model's verdict decides",
    "step.retrieval": "Retrieval:",
    "step.constraints": "Names and years:",
    "step.verdict": "Model verdict:",
    "step.grounding": "Grounding:",
    "score.relevance": "relevance",
    "score.dense": "dense",
    "score.bm25": "keyword",
    "score.fused": "fused",
    "score.coverage": "coverage",
    "score.rerank": "rerank",
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
    documentsEmpty: "这个知识库还没有文档。把文件放进它的目录，再运行 `notesqa build`。",
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
    apiKeyTitle: "这个服务需要 API 密钥",
    apiKeyBody: "请向服务管理员索取密钥。密钥只在本次浏览器会话中保存。",
    apiKey: "API 密钥",
    chooseKnowledgeBase: "选择知识库",
    documents: "文档",
    documentsEmptyAdmin: "还没有文档：把文件拖到下方即可添加。",
    manage: "管理",
    adminToken: "管理令牌（NOTESQA_ADMIN_TOKEN）",
    adminTokenNeeded: "请先输入管理令牌。",
    tokenSaved: "令牌已保存，仅在本次浏览器会话中有效。",
    save: "保存",
    dropFiles: "把文件拖到这里，或",
    chooseFiles: "选择文件",
    rebuild: "重建索引",
    newKnowledgeBase: "新建知识库",
    kbNameRule: "字母、数字、_ 或 -，以字母或数字开头",
    create: "创建",
    created: "已创建 {name}，文档目录为 {folder}。",
    deleteDocument: "删除 {name}",
    confirmDelete: "从知识库中删除 {name}？删除后会重建索引。",
    deleted: "已删除 {name}，正在重建索引…",
    uploading: "正在上传 {n} 个文件…",
    uploaded: "已上传 {names}，正在重建索引…",
    rebuilt: "索引已重建：新增 {added}，更新 {updated}，移除 {removed}，失败 {failed}。",
    rebuildFailed: "重建失败，仍在使用之前的索引。{message}",
    "stage.load": "读取",
    "stage.clean": "清洗",
    "stage.split": "切分",
    "stage.embed": "向量化",
    "stage.write": "写入",
    "status.pending": "尚未索引",
    "status.changed": "索引后已修改",
    "status.missing": "已删除，下次重建时移除",
    hitTest: "检索测试",
    hitTestIntro: "查看一个问题能检索到哪些段落、各项得分，以及它会被回答还是拒答。不调用模型。",
    hitTestPlaceholder: "输入要测试的问题…",
    hitTestRun: "测试",
    hitTestRunning: "正在检索…",
    hitTestFigures: "最高相关度 {best} · 阈值 {threshold}",
    hitTestQueries: "检索用语：{queries}",
    hitTestNoPassages: "没有找到段落。",
    hitTestPassage: "段落",
    hitTestTable: "段落及其得分",
    "decision.answer": "会被回答",
    "decision.refuse": "会被拒答",
    "decision.model decides": "通过检索：由模型判断是否能回答",
    "step.retrieval": "检索：",
    "step.constraints": "名称与年份：",
    "step.verdict": "模型判断：",
    "step.grounding": "出处核对：",
    "score.relevance": "相关度",
    "score.dense": "向量",
    "score.bm25": "关键词",
    "score.fused": "融合",
    "score.coverage": "覆盖",
    "score.rerank": "重排",
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
