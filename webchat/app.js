/* 助残就业政策助手 — web chat page.
 *
 * Plain ES2017, no modules, no framework: it must run in old Android WebViews and WeChat's
 * in-app browser. Everything a user or the knowledge base sends is put on the page with
 * textContent (never innerHTML), so markup in messages is shown as text and never runs.
 *
 * API (docs/design.md): POST /api/chat, GET /api/history, POST /api/feedback. The
 * conversation is kept by the gateway's cookie, so requests carry same-origin credentials.
 * A chat answer's id (for feedback) comes in the X-Answer-Id response header; each history
 * turn carries it as answer_id. A source's `plain` is its entry's reviewed easy-read summary
 * (one sentence a line): with 易读 on it comes first and the answer's own words wait under 原文.
 * 朗读 uses the browser's speech synthesis; where there is none, the page has no such button.
 */
(function () {
  'use strict';

  var MAX_LENGTH = 500;
  var WARN_AT = 450;
  var REQUEST_TIMEOUT_MS = 30000;
  var ANSWER_ID_HEADER = 'X-Answer-Id';
  var HOTLINE = '12385';
  var NETWORK_ERROR = '网络出了问题，请稍后再试，或拨打' + HOTLINE;
  /* The switches; their storage keys are defined once, in prefs.js (window.zhucanPrefs). */
  var PREFS = [
    { id: 'toggle-large-text', cls: 'large-text' },
    { id: 'toggle-high-contrast', cls: 'high-contrast' },
    { id: 'toggle-easy-read', cls: 'easy-read', onChange: applyEasyRead }
  ];
  var SPEAK_LABEL = '朗读';
  var STOP_LABEL = '停止朗读';

  var els = {};
  var busy = false;

  /* ---------- small DOM helpers (text only) ---------- */

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function hiddenLabel(text) {
    return el('span', 'visually-hidden', text);
  }

  function isCoarsePointer() {
    return !!(window.matchMedia && window.matchMedia('(pointer: coarse)').matches);
  }

  /* ---------- display preferences ---------- */

  function readPref(key) {
    try { return window.localStorage.getItem(key) === '1'; } catch (e) { return false; }
  }

  function writePref(key, on) {
    try { window.localStorage.setItem(key, on ? '1' : '0'); } catch (e) { /* storage blocked */ }
  }

  function setupPrefs() {
    var keys = window.zhucanPrefs || {};
    PREFS.forEach(function (pref) {
      var button = document.getElementById(pref.id);
      var key = keys[pref.cls];
      if (!button || !key) { return; }
      var on = readPref(key);
      document.documentElement.classList.toggle(pref.cls, on);
      button.setAttribute('aria-pressed', on ? 'true' : 'false');
      button.addEventListener('click', function () {
        var next = button.getAttribute('aria-pressed') !== 'true';
        button.setAttribute('aria-pressed', next ? 'true' : 'false');
        document.documentElement.classList.toggle(pref.cls, next);
        writePref(key, next);
        if (pref.onChange) { pref.onChange(next); }
      });
    });
  }

  /* ---------- HTTP ---------- */

  function ApiError(message, status) {
    this.message = message;
    this.status = status;
  }

  function detailText(body, status) {
    var detail = body && body.detail;
    if (typeof detail === 'string' && detail) { return detail; }
    if (status === 422) { return '消息不能为空，最多 500 字。请修改后再发送。'; }
    if (status === 429) { return '您发得太快了，请稍等一会儿再发。'; }
    return '助手暂时不能回答（错误 ' + status + '），请稍后再试，或拨打' + HOTLINE;
  }

  async function request(method, url, payload) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
    var options = {
      method: method,
      credentials: 'same-origin',
      headers: { 'Accept': 'application/json' }
    };
    if (payload !== undefined) {
      options.headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(payload);
    }
    if (controller) { options.signal = controller.signal; }
    var response;
    try {
      response = await fetch(url, options);
    } catch (e) {
      throw new ApiError(NETWORK_ERROR, 0);
    } finally {
      if (timer) { clearTimeout(timer); }
    }
    var body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) { throw new ApiError(detailText(body, response.status), response.status); }
    return { body: body, headers: response.headers };
  }

  /* ---------- status, errors, the log ---------- */

  function setBusy(on) {
    busy = on;
    els.log.setAttribute('aria-busy', on ? 'true' : 'false');
    els.form.setAttribute('aria-busy', on ? 'true' : 'false');
    els.send.setAttribute('aria-disabled', on ? 'true' : 'false');
    els.status.textContent = on ? '正在查找答案，请稍候……' : '';
  }

  function showError(text) {
    els.error.textContent = text || '';
  }

  function updateEmptyState() {
    els.empty.hidden = els.log.children.length > 0;
  }

  function scrollToLatest() {
    // Keep the newest reply and the input box in view together.
    if (els.form.scrollIntoView) {
      try { els.form.scrollIntoView({ block: 'end' }); } catch (e) { els.form.scrollIntoView(false); }
    }
  }

  function userMessage(text) {
    var item = el('div', 'msg msg-user');
    item.appendChild(hiddenLabel('我说：'));
    item.appendChild(el('p', 'msg-text', text));
    return item;
  }

  function sourceLabel(source) {
    var parts = [];
    if (source.document) { parts.push(source.document); }
    if (source.ref) { parts.push(source.ref); }
    var label = parts.join(' ');
    if (source.title) { label += (label ? ' ' : '') + '「' + source.title + '」'; }
    return label || '方案原文';
  }

  // The API gives each source its entry `key` and `detail`, the payload of its 查看原文 button
  // (null for targets and the document's facts, which are quoted whole in the answer); the
  // gateway (bot/chat/button_titles.py) logs a press of it by the same title.
  function detailPayload(source) {
    return typeof source.detail === 'string' && source.detail ? source.detail : null;
  }

  function detailTitle(source) {
    return '查看原文' + (source.ref ? '：' + source.ref : '');
  }

  // `offered`: the payloads of the answer's reply buttons; a "查看原文" that would only repeat
  // one of them (the 详细说说 of an entry) is left out, so each thing is offered once.
  function sourcesBlock(sources, offered) {
    var box = el('div', 'sources');
    box.appendChild(el('p', 'sources-title', '依据'));
    var list = el('ul', 'source-list');
    sources.forEach(function (source) {
      if (!source || typeof source !== 'object') { return; }
      var li = el('li', 'source');
      li.appendChild(el('p', 'source-ref', sourceLabel(source)));
      var departments = Array.isArray(source.departments) ? source.departments : [];
      if (departments.length) {
        li.appendChild(el('p', 'source-departments', '负责部门：' + departments.join('、')));
      }
      if (detailPayload(source) && offered.indexOf(detailPayload(source)) === -1) {
        var more = el('button', 'reply-button detail-button', detailTitle(source));
        more.type = 'button';
        more.setAttribute('data-payload', detailPayload(source));
        li.appendChild(more);
      }
      list.appendChild(li);
    });
    box.appendChild(list);
    return box;
  }

  // The entry a reply button is about: `/ask_detail{"entry":"<key>"}` names it; null otherwise.
  function payloadEntry(payload) {
    var match = /^\/[A-Za-z_]+(\{.*\})$/.exec(payload || '');
    if (!match) { return null; }
    try {
      var args = JSON.parse(match[1]);
      return args && typeof args.entry === 'string' ? args.entry : null;
    } catch (e) {
      return null;
    }
  }

  // Every answer offers the same titles (详细说说, 找谁办); a button about an entry adds the
  // entry's ref to its accessible name, so a screen reader tells the answers' buttons apart.
  function entryRef(payload, sources) {
    var entry = payloadEntry(payload);
    if (!entry) { return null; }
    for (var i = 0; i < sources.length; i++) {
      var source = sources[i];
      if (source && typeof source === 'object' && source.key === entry &&
          typeof source.ref === 'string' && source.ref) {
        return source.ref;
      }
    }
    return null;
  }

  function replyButtons(buttons, sources) {
    var group = el('div', 'reply-buttons');
    group.setAttribute('role', 'group');
    group.setAttribute('aria-label', '可以接着问');
    var list = el('ul', 'button-list');
    buttons.forEach(function (b) {
      if (!b || !b.title) { return; }
      var li = el('li');
      var button = el('button', 'reply-button', b.title);
      button.type = 'button';
      button.setAttribute('data-payload', b.payload || b.title);
      var ref = entryRef(b.payload, sources);
      if (ref) { button.setAttribute('aria-label', b.title + '（' + ref + '）'); }
      li.appendChild(button);
      list.appendChild(li);
    });
    group.appendChild(list);
    return group;
  }

  function handoffNotice() {
    var box = el('p', 'handoff');
    box.appendChild(el('strong', null, '需要人工帮助：'));
    box.appendChild(document.createTextNode('请拨打全国残疾人服务热线 '));
    var link = el('a', null, HOTLINE);
    link.href = 'tel:' + HOTLINE;
    box.appendChild(link);
    box.appendChild(document.createTextNode('，工作人员会帮您。'));
    return box;
  }

  function feedbackBlock(answerId, current) {
    var group = el('div', 'feedback');
    group.setAttribute('role', 'group');
    group.setAttribute('aria-label', '这个回答有帮助吗？');
    group.appendChild(el('span', 'feedback-question', '这个回答有帮助吗？'));
    [['up', '👍', '有帮助'], ['down', '👎', '没帮助']].forEach(function (spec) {
      var button = el('button', 'feedback-button');
      button.type = 'button';
      button.setAttribute('data-answer-id', String(answerId));
      button.setAttribute('data-value', spec[0]);
      button.setAttribute('aria-pressed', current === spec[0] ? 'true' : 'false');
      var icon = el('span', 'feedback-icon', spec[1]);
      icon.setAttribute('aria-hidden', 'true');
      button.appendChild(icon);
      button.appendChild(el('span', null, spec[2]));
      group.appendChild(button);
    });
    return group;
  }

  // An answer's text ends with its basis ("依据：…") and departments ("负责部门：…"); the 依据
  // box shows both, so with the box on the page those lines are left out of the text, and a
  // screen reader reads them once. Every other line (the quote, the period line) stays.
  var BOX_LINE = /^\s*(依据|负责部门)：/;

  function withoutBoxLines(text) {
    return String(text).split('\n').filter(function (line) {
      return !BOX_LINE.test(line);
    }).join('\n');
  }

  /* ---------- easy read (易读) and read aloud (朗读) ---------- */

  function easyReadOn() {
    return document.documentElement.classList.contains('easy-read');
  }

  // The sources that have an easy-read summary, each as {ref, lines}.
  function plainSummaries(sources) {
    var found = [];
    sources.forEach(function (source) {
      if (!source || typeof source !== 'object' || typeof source.plain !== 'string') { return; }
      var lines = source.plain.split('\n').filter(function (line) { return line.trim(); });
      if (lines.length) { found.push({ ref: source.ref || source.title || '', lines: lines }); }
    });
    return found;
  }

  // Shown only with 易读 on (style.css): the summaries first, one sentence a line.
  function plainBlock(summaries) {
    var box = el('div', 'plain');
    box.appendChild(el('p', 'plain-title', '简单地说'));
    summaries.forEach(function (summary) {
      if (summaries.length > 1 && summary.ref) { box.appendChild(el('p', 'plain-ref', summary.ref)); }
      summary.lines.forEach(function (line) { box.appendChild(el('p', 'plain-line', line)); });
    });
    return box;
  }

  // The answer's own words: open (its 原文 summary hidden) with 易读 off, one tap away with it on.
  function originalBlock() {
    var details = el('details', 'original');
    details.appendChild(el('summary', 'original-summary', '原文'));
    details.open = !easyReadOn();
    return details;
  }

  function applyEasyRead(on) {
    var originals = document.querySelectorAll('#log details.original');
    Array.prototype.forEach.call(originals, function (details) { details.open = !on; });
  }

  function canSpeak() {
    return !!(window.speechSynthesis && typeof window.speechSynthesis.speak === 'function' &&
      typeof window.SpeechSynthesisUtterance === 'function');
  }

  var speaking = null; // the 朗读 button whose text is being read

  function resetSpeakButton(button) {
    if (!button) { return; }
    button.textContent = SPEAK_LABEL;
    button.classList.remove('speaking');
    if (speaking === button) { speaking = null; }
  }

  // A Mandarin voice when the browser has one; otherwise the utterance's lang picks one.
  function chineseVoice() {
    var voices = [];
    try { voices = window.speechSynthesis.getVoices() || []; } catch (e) { voices = []; }
    for (var i = 0; i < voices.length; i++) {
      if (/^zh[-_]CN/i.test(voices[i].lang || '')) { return voices[i]; }
    }
    return null;
  }

  function onSpeak(button) {
    var synth = window.speechSynthesis;
    if (speaking === button) { // pressed again: stop
      synth.cancel();
      resetSpeakButton(button);
      return;
    }
    var previous = speaking;
    synth.cancel();
    resetSpeakButton(previous);
    var easy = easyReadOn() && button.getAttribute('data-plain');
    var utterance = new window.SpeechSynthesisUtterance(
      easy ? button.getAttribute('data-plain') : button.getAttribute('data-text'));
    utterance.lang = 'zh-CN';
    var voice = chineseVoice();
    if (voice) { utterance.voice = voice; }
    if (easy) { utterance.rate = 0.9; } // a little slower for the easy words
    utterance.onend = function () { if (speaking === button) { resetSpeakButton(button); } };
    utterance.onerror = utterance.onend;
    speaking = button;
    // The name says what a press does now (朗读 / 停止朗读), so no aria-pressed as well.
    button.textContent = STOP_LABEL;
    button.classList.add('speaking');
    synth.speak(utterance);
  }

  // What 朗读 reads: the whole answer as sent, or with 易读 on its easy-read summaries.
  function speakButton(texts, summaries) {
    var button = el('button', 'speak-button', SPEAK_LABEL);
    button.type = 'button';
    button.setAttribute('data-text', texts.join('\n'));
    if (summaries.length) {
      var lines = [];
      summaries.forEach(function (summary) { lines = lines.concat(summary.lines); });
      button.setAttribute('data-plain', lines.join('\n'));
    }
    return button;
  }

  // `data`: a chat answer or a history turn; `answerId`: its id for feedback, if any.
  function botMessage(data, answerId) {
    var item = el('div', 'msg msg-bot');
    item.appendChild(hiddenLabel('助手说：'));
    var replies = Array.isArray(data.replies) ? data.replies : [];
    var sources = Array.isArray(data.sources) ? data.sources : [];
    var summaries = plainSummaries(sources);
    var holder = item;
    if (summaries.length) {
      item.appendChild(plainBlock(summaries));
      holder = originalBlock();
      item.appendChild(holder);
    }
    var buttons = [];
    var texts = [];
    replies.forEach(function (r) {
      if (!r) { return; }
      var text = r.text && sources.length ? withoutBoxLines(r.text) : r.text;
      if (text) { holder.appendChild(el('p', 'msg-text', text)); }
      if (r.text) { texts.push(r.text); }
      if (Array.isArray(r.buttons)) { buttons = buttons.concat(r.buttons); }
    });
    if (!replies.some(function (r) { return r && r.text; })) {
      var sorry = '抱歉，我暂时没有答案。可以换个说法，或拨打' + HOTLINE + '。';
      holder.appendChild(el('p', 'msg-text', sorry));
      texts.push(sorry);
    }
    if (canSpeak()) { item.appendChild(speakButton(texts, summaries)); }
    if (data.handoff) { item.appendChild(handoffNotice()); }
    var offered = buttons.map(function (b) { return b && (b.payload || b.title); });
    if (sources.length) { item.appendChild(sourcesBlock(sources, offered)); }
    if (buttons.length) { item.appendChild(replyButtons(buttons, sources)); }
    if (answerId) {
      item.appendChild(feedbackBlock(answerId, data.feedback || null));
    }
    return item;
  }

  function appendToLog(nodes) {
    nodes.forEach(function (node) { els.log.appendChild(node); });
    updateEmptyState();
  }

  /* ---------- sending ---------- */

  function focusInput() {
    if (document.activeElement !== els.input) { els.input.focus(); }
  }

  async function send(message, shownAs, options) {
    var opts = options || {};
    if (busy) { return; }
    var text = String(message || '').trim();
    if (!text) {
      showError('请先输入问题。');
      focusInput();
      return;
    }
    if (text.length > MAX_LENGTH) {
      showError('最多输入 500 字，请删减后再发送。');
      return;
    }
    showError('');
    setBusy(true);
    var mine = userMessage(shownAs || text);
    // The log is aria-busy while waiting, so the question and the complete reply are
    // announced together, once, when the reply has arrived.
    appendToLog([mine]);
    if (opts.clearInput) {
      els.input.value = '';
      updateCount();
    }
    try {
      var answer = await request('POST', '/api/chat', { message: text });
      appendToLog([botMessage(answer.body || {}, answer.headers.get(ANSWER_ID_HEADER))]);
    } catch (err) {
      // "Too fast" (429) says when to send again: it goes beside the message, into the log,
      // which a screen reader reads with the message once the log is no longer busy; not
      // into the alert as well, or it would be read twice.
      var tooFast = !!(err && err.status === 429);
      var failed = el('p', 'msg-failed', '（这条没有发出去）' + (tooFast ? err.message : ''));
      mine.appendChild(failed);
      if (opts.clearInput && !els.input.value) {
        // Give the words back so the user does not have to type them again.
        els.input.value = text;
        updateCount();
      }
      if (!tooFast) { showError(err && err.message ? err.message : NETWORK_ERROR); }
    } finally {
      setBusy(false);
      scrollToLatest();
      if (opts.focusInput) { focusInput(); }
    }
  }

  function onSubmit(event) {
    event.preventDefault();
    send(els.input.value, null, { clearInput: true, focusInput: true });
  }

  function onButtonClick(event) {
    var target = event.target;
    var button = target && target.closest ? target.closest('button') : null;
    if (!button) { return; }
    if (button.classList.contains('feedback-button')) {
      onFeedback(button);
      return;
    }
    if (button.classList.contains('speak-button')) {
      onSpeak(button);
      return;
    }
    var payload = button.getAttribute('data-payload') || button.getAttribute('data-message');
    if (!payload) { return; }
    // On phones, moving focus to the input would open the keyboard over the reply.
    send(payload, button.textContent, { focusInput: !isCoarsePointer() });
  }

  /* ---------- feedback ---------- */

  async function onFeedback(button) {
    var group = button.parentNode;
    var value = button.getAttribute('data-value');
    var answerId = button.getAttribute('data-answer-id');
    if (button.getAttribute('aria-pressed') === 'true') { return; }
    var buttons = Array.prototype.slice.call(group.querySelectorAll('.feedback-button'));
    var before = buttons.map(function (b) { return b.getAttribute('aria-pressed'); });
    buttons.forEach(function (b) {
      b.setAttribute('aria-pressed', b === button ? 'true' : 'false');
    });
    try {
      await request('POST', '/api/feedback', { answer_id: answerId, value: value });
      els.status.textContent = value === 'up' ? '谢谢，已记下：有帮助。' : '谢谢，已记下：没帮助。我们会改进。';
    } catch (err) {
      buttons.forEach(function (b, i) { b.setAttribute('aria-pressed', before[i]); });
      showError(err && err.status ? '反馈没有保存：' + err.message : NETWORK_ERROR);
    }
  }

  /* ---------- history ---------- */

  // The gateway returns a button press as its title (with the payload beside it); for older
  // turns, a button payload ("/ask_more", "/ask_item{...}") is shown as the title it had.
  function shownText(message, previous) {
    if (!previous || message.charAt(0) !== '/') { return message; }
    var replies = Array.isArray(previous.replies) ? previous.replies : [];
    for (var i = 0; i < replies.length; i++) {
      var buttons = (replies[i] && replies[i].buttons) || [];
      for (var j = 0; j < buttons.length; j++) {
        if (buttons[j] && buttons[j].payload === message) { return buttons[j].title; }
      }
    }
    var sources = Array.isArray(previous.sources) ? previous.sources : [];
    for (var k = 0; k < sources.length; k++) {
      if (sources[k] && detailPayload(sources[k]) === message) {
        return detailTitle(sources[k]);
      }
    }
    return message;
  }

  async function loadHistory() {
    var body;
    try {
      body = (await request('GET', '/api/history')).body;
    } catch (err) {
      if (err && err.status === 0) { showError('之前的对话没有加载出来：' + NETWORK_ERROR); }
      return;
    }
    // {"turns": [{"answer_id", "time", "message", "replies", "sources", "handoff", "feedback"}]}
    var turns = body && Array.isArray(body.turns) ? body.turns : [];
    if (!turns.length || els.log.children.length) { return; }
    var nodes = [];
    var previous = null;
    turns.forEach(function (turn) {
      if (!turn || typeof turn !== 'object') { return; }
      if (turn.message) { nodes.push(userMessage(shownText(turn.message, previous))); }
      nodes.push(botMessage(turn, turn.answer_id));
      previous = turn;
    });
    // Restored turns are old news: add them without making the live region read them all.
    els.log.setAttribute('aria-live', 'off');
    appendToLog(nodes);
    setTimeout(function () { els.log.setAttribute('aria-live', 'polite'); }, 0);
  }

  /* ---------- privacy notice ---------- */

  // How many days conversations are kept is a setting of the gateway (RETENTION_DAYS): the
  // notice says "一段时间" until GET /api/privacy gives the number, and keeps saying it if
  // that fails (nothing to tell the user then).
  // The starter topics come from the gateway (bot/api/starters.py), the list WeChat's menu uses.
  async function loadTopics() {
    var topics;
    try {
      topics = (await request('GET', '/api/topics')).body.topics;
    } catch (e) {
      return;
    }
    var list = document.getElementById('topic-list');
    if (!list || !Array.isArray(topics)) { return; }
    topics.forEach(function (topic) {
      if (!topic || !topic.title || !topic.message) { return; }
      var li = el('li');
      var button = el('button', 'topic', topic.title);
      button.type = 'button';
      button.setAttribute('data-message', topic.message);
      li.appendChild(button);
      list.appendChild(li);
    });
  }

  async function loadRetentionDays() {
    var days;
    try {
      days = (await request('GET', '/api/privacy')).body.retention_days;
    } catch (e) {
      return;
    }
    var span = document.getElementById('retention-days');
    if (span && typeof days === 'number' && days > 0) {
      span.textContent = ' ' + days + ' 天';
    }
  }

  /* ---------- input length ---------- */

  var lastAnnounced = '';

  function updateCount() {
    var n = els.input.value.length;
    els.count.textContent = '已输入 ' + n + ' 字，共可输入 ' + MAX_LENGTH + ' 字';
    els.count.classList.toggle('near-limit', n >= WARN_AT);
    var say = '';
    if (n >= MAX_LENGTH) { say = '已经到 500 字上限了。'; }
    else if (n >= WARN_AT) { say = '还能输入 ' + (MAX_LENGTH - n) + ' 字。'; }
    // Announce only when crossing into the warning zone or hitting the limit, not every key.
    var zone = n >= MAX_LENGTH ? 'limit' : (n >= WARN_AT ? 'warn' : '');
    if (zone !== lastAnnounced) {
      els.announcer.textContent = say;
      lastAnnounced = zone;
    }
  }

  /* ---------- start ---------- */

  function init() {
    els.form = document.getElementById('chat-form');
    els.input = document.getElementById('message-input');
    els.send = document.getElementById('send-button');
    els.log = document.getElementById('log');
    els.empty = document.getElementById('log-empty');
    els.status = document.getElementById('status');
    els.error = document.getElementById('error');
    els.count = document.getElementById('char-count');
    els.announcer = document.getElementById('limit-announcer');

    setupPrefs();
    els.input.setAttribute('maxlength', String(MAX_LENGTH));
    els.form.addEventListener('submit', onSubmit);
    els.input.addEventListener('input', updateCount);
    document.getElementById('main').addEventListener('click', onButtonClick);
    updateCount();
    updateEmptyState();
    if (canSpeak()) {
      // Reading must not go on after the page is left.
      window.addEventListener('pagehide', function () { window.speechSynthesis.cancel(); });
    }
    loadTopics();
    loadHistory();
    loadRetentionDays();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
