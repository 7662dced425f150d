/* rehearse interview room: drives the page over the REST API and the live WebSocket stream.
 *
 * Everything shown comes from the server (status, question, remaining time, progress,
 * budget), so a reload restores the room; only the unsent draft answer, the time spent on
 * the question and the whiteboard drawing live in sessionStorage, per session and question.
 * The clock is server-authoritative: WebSocket ticks (or, when the socket fails, polling
 * GET /api/v1/sessions/{id}) set it; between them it counts down locally while active.
 * No framework, nothing fetched from the network. Text from the server is always set with
 * textContent, never as HTML.
 *
 * Issue 11: in practice mode "Try again" answers the last scored question again (the best
 * attempt counts); a saved whiteboard is shown again on its question; coding questions in
 * Code mode get a code editor whose code is sent verbatim as a fenced block (with its
 * language), so the evaluator and the report see it as code; the answer has a length
 * counter and is refused, not cut, past the limit; the room may be cancelled.
 */
(function () {
  "use strict";

  const room = document.getElementById("room");
  if (!room) return;

  const FINAL = new Set(["completed", "expired", "cancelled"]);
  const POLL_MS = 2000;
  const MAX_RECONNECT_MS = 30000;
  const MAX_SPENT_SECONDS = 14400;

  const initial = JSON.parse(document.getElementById("room-state").textContent);
  const sessionId = room.dataset.sessionId;
  const base = "/api/v1/sessions/" + encodeURIComponent(sessionId);
  const $ = (id) => document.getElementById(id);

  const ui = {
    status: $("status-badge"),
    error: $("room-error"),
    announcer: $("announcer"),
    aiNotice: $("ai-notice"),
    created: $("panel-created"),
    paused: $("panel-paused"),
    question: $("panel-question"),
    done: $("panel-done"),
    final: $("panel-final"),
    finalStatus: $("final-status"),
    feedback: $("feedback"),
    feedbackScore: $("feedback-score"),
    feedbackQuestion: $("feedback-question"),
    feedbackStrengths: $("feedback-strengths"),
    feedbackStrengthsBox: $("feedback-strengths-box"),
    feedbackNotes: $("feedback-notes"),
    feedbackNotesBox: $("feedback-notes-box"),
    kind: $("question-kind"),
    category: $("question-category"),
    suggested: $("question-time"),
    text: $("question-text"),
    form: $("answer-form"),
    answer: $("answer"),
    answerError: $("answer-error"),
    submit: $("submit-btn"),
    skip: $("skip-btn"),
    start: $("start-btn"),
    pause: $("pause-btn"),
    resume: $("resume-btn"),
    end: $("end-btn"),
    timer: $("timer"),
    timerLabel: $("timer-label"),
    timerNote: $("timer-note"),
    progressText: $("progress-text"),
    progressBar: $("progress-bar"),
    meter: $("token-meter"),
    tokenText: $("token-text"),
    connection: $("connection-note"),
    connectionBox: $("connection"),
    dialog: $("end-dialog"),
    boardCanvas: $("whiteboard"),
    boardClear: $("whiteboard-clear"),
    boardStatus: $("whiteboard-status"),
    answerLabel: $("answer-label"),
    counter: $("answer-counter"),
    codeBox: $("code-box"),
    code: $("code"),
    codeLanguage: $("code-language"),
    codeLines: $("code-lines"),
    retry: $("retry-btn"),
    retryNote: $("retry-note"),
    retryBadge: $("question-retry"),
    retryCancel: $("retry-cancel"),
    skipNote: $("feedback-skip-note"),
    cancel: $("cancel-btn"),
    cancelDialog: $("cancel-dialog"),
  };
  const MAX_ANSWER = Number(ui.answer.dataset.maxlength) || 20000;
  const CODE_MODE = Boolean(initial.code && ui.codeBox);
  const ANSWER_LABEL = ui.answerLabel.textContent;

  let session = initial.session;
  let lastSeq = initial.last_seq || 0;
  let shownId = null;
  let spent = 0;
  let busy = false;
  let clock = { remaining: session.remaining_seconds, status: session.status, at: performance.now() };
  let shownSeconds = null;
  let socket = null;
  let pollTimer = null;
  let reconnectTimer = null;
  let reconnectDelay = 1000;
  let refreshing = false;
  let lastZeroRefresh = 0;
  const announcedFollowUps = new Set();
  const questionTexts = new Map(); // item id -> text, for feedback that arrives after the question moved on
  const announcedMarks = new Set();
  const whiteboards = Object.assign({}, initial.whiteboards || {}); // item id -> saved PNG URL
  const items = new Map(); // item id -> plan item seen, for "Try again"
  let retryItem = null; // the item answered again, while trying again
  let feedbackItem = initial.feedback_item || null; // the item the feedback card scored
  if (feedbackItem) items.set(feedbackItem.id, feedbackItem);
  let boardChanged = false; // drawn on since shown: only then is it saved with the answer

  // -- storage -------------------------------------------------------------------------

  const key = (what, questionId) => "rehearse:" + what + ":" + sessionId + ":" + questionId;
  function stored(what, questionId) {
    try { return sessionStorage.getItem(key(what, questionId)); } catch (e) { return null; }
  }
  function store(what, questionId, value) {
    try {
      if (value === null || value === "") sessionStorage.removeItem(key(what, questionId));
      else sessionStorage.setItem(key(what, questionId), value);
    } catch (e) { /* storage full or disabled: the draft is simply not kept */ }
  }
  function forget(questionId) {
    ["draft", "spent", "board", "code"].forEach((what) => store(what, questionId, null));
  }

  // -- whiteboard ------------------------------------------------------------------------

  const board = ui.boardCanvas && window.RehearseWhiteboard
    ? window.RehearseWhiteboard.create(ui.boardCanvas, () => {
        boardChanged = true;
        if (shownId) store("board", shownId, board && !board.isBlank() ? board.toDataURL() : null);
      })
    : null;
  if (board && ui.boardClear) {
    ui.boardClear.addEventListener("click", () => {
      board.clear();
      say(ui.boardStatus, "Whiteboard cleared");
    });
  }

  // -- small helpers -------------------------------------------------------------------

  function say(node, text) { if (node) node.textContent = text; }
  function announce(text) {
    ui.announcer.textContent = "";
    window.setTimeout(() => { ui.announcer.textContent = text; }, 50);
  }
  function showError(message) {
    ui.error.textContent = message;
    ui.error.hidden = !message;
  }
  function label(value) {
    const text = String(value || "").replace(/_/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }
  // the rule of rehearse.domain.wording.format_duration: m:ss, or h:mm:ss from one hour on
  // (also when the duration shown beside it, "like", takes hours)
  function duration(seconds, like) {
    const total = Math.max(0, Math.round(seconds));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const pad = (n) => String(n).padStart(2, "0");
    return h || (like && Math.round(like) >= 3600) ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  }
  function number(n) { return Number(n || 0).toLocaleString("en-US"); }
  function fill(list, items) {
    list.replaceChildren();
    (items || []).forEach((item) => {
      const li = document.createElement("li");
      li.textContent = item;
      list.appendChild(li);
    });
  }

  function questionPath(questionId) {
    return "/questions/" + questionId.split("/").map(encodeURIComponent).join("/");
  }

  function api(method, path, body, type) {
    return window.rehearse.api(method, base + path, body, type); // site.js
  }

  // -- rendering ---------------------------------------------------------------------------

  function setClock(remaining, status) {
    // a tick may land a few milliseconds "behind" the local countdown: never step back up by
    // one second for that; any bigger difference is a real correction and is taken as is
    const shown = remainingNow();
    if (status === "active" && clock.status === "active" && remaining > shown && remaining - shown <= 1) {
      return;
    }
    clock = { remaining, status, at: performance.now() };
    paintClock();
  }

  function remainingNow() {
    if (clock.status !== "active") return clock.remaining;
    return Math.max(0, clock.remaining - Math.floor((performance.now() - clock.at) / 1000));
  }

  function paintClock() {
    const final = FINAL.has(clock.status);
    const seconds = final ? Math.round(session.active_seconds) : remainingNow();
    say(ui.timerLabel, final ? "Time used" : "Time left");
    if (seconds !== shownSeconds) {
      shownSeconds = seconds;
      ui.timer.textContent = duration(seconds, session.time_limit_seconds);
      ui.timer.classList.toggle("timer--low", clock.status === "active" && seconds <= 60);
      [300, 60].forEach((mark) => {
        if (clock.status === "active" && seconds <= mark && seconds > mark - 5 && !announcedMarks.has(mark)) {
          announcedMarks.add(mark);
          announce(mark / 60 + (mark === 60 ? " minute" : " minutes") + " left");
        }
      });
    }
    if (clock.status === "paused") say(ui.timerNote, "Paused: the clock is stopped");
    else if (clock.status === "created") say(ui.timerNote, "Starts when you press Start");
    else if (final) say(ui.timerNote, "of " + duration(session.time_limit_seconds) + "; the interview is " + clock.status);
    else say(ui.timerNote, "of " + duration(session.time_limit_seconds));
    if (clock.status === "active" && seconds === 0 && performance.now() - lastZeroRefresh > POLL_MS) {
      lastZeroRefresh = performance.now();
      refresh(); // the server expires the session on this read
    }
  }

  function showQuestion(current) {
    const q = retryItem || current;
    const id = q ? q.id : null;
    if (id === shownId) return;
    shownId = id;
    room.dataset.questionId = id || ""; // what a spoken answer (voice.js) answers
    room.dispatchEvent(new CustomEvent("rehearse:question", { detail: { id } }));
    ui.answerError.hidden = true;
    if (!q) return;
    items.set(q.id, q);
    ui.kind.hidden = q.kind !== "follow_up";
    if (ui.retryBadge) ui.retryBadge.hidden = !retryItem;
    if (ui.retryCancel) ui.retryCancel.hidden = !retryItem;
    ui.category.textContent = label(q.category);
    ui.suggested.textContent = duration(q.answer_time_seconds);
    ui.text.textContent = q.text;
    questionTexts.set(q.id, q.text);
    const coding = CODE_MODE && q.category === "coding";
    if (ui.codeBox) ui.codeBox.hidden = !coding;
    ui.answerLabel.textContent = coding ? ui.answerLabel.dataset.codeLabel : ANSWER_LABEL;
    let draft = stored("draft", q.id);
    let code = stored("code", q.id);
    if (retryItem && draft === null && code === null) {
      // trying again starts from the answer sent last time, to improve on it
      const last = splitAnswer(stored("last", q.id) || "", coding);
      draft = last.text;
      code = last.code;
      if (last.language && ui.codeLanguage) store("lang", q.id, last.language);
    }
    ui.answer.value = draft || "";
    if (ui.code) {
      ui.code.value = code || "";
      ui.codeLanguage.value = stored("lang", q.id) || guessLanguage(q.text);
      if (!ui.codeLanguage.value) ui.codeLanguage.value = "python";
      paintLines();
    }
    spent = Number(stored("spent", q.id)) || 0;
    if (board) {
      const local = stored("board", q.id);
      board.load(local || whiteboards[q.id] || null);
      boardChanged = Boolean(local);
      // the note belongs to this question only
      say(ui.boardStatus, !local && whiteboards[q.id] ? "Your saved whiteboard for this question is shown." : "");
    }
    paintCounter();
  }

  // -- the answer: explanation and code, its length ----------------------------------------

  function guessLanguage(text) {
    const rules = [
      [/\bSQL\b|\bquery\b.*\btable\b/i, "sql"],
      [/\bTypeScript\b/i, "typescript"],
      [/\bJavaScript\b|\bReact\b|\bDOM\b|\bNode\.js\b/i, "javascript"],
      [/\bKotlin\b|\bAndroid\b/i, "kotlin"],
      [/\bSwift\b|\biOS\b/i, "swift"],
      [/\bGo\b|\bgoroutines?\b/, "go"],
      [/\bRust\b/i, "rust"],
      [/\bJava\b/, "java"],
      [/\bshell\b|\bbash\b/i, "bash"],
    ];
    const found = rules.find((rule) => rule[0].test(text));
    return found ? found[1] : (stored("lang", "default") || "python");
  }

  function fenceFor(code) {
    const runs = code.match(/`+/g) || [];
    const longest = runs.reduce((n, run) => Math.max(n, run.length), 0);
    return "`".repeat(Math.max(3, longest + 1));
  }

  function composeAnswer() {
    const text = ui.answer.value.trim();
    const coding = ui.codeBox && !ui.codeBox.hidden;
    const code = coding ? ui.code.value.replace(/^\n+|\s+$/g, "") : "";
    if (!code.trim()) return text;
    const fence = fenceFor(code);
    return (text ? text + "\n\n" : "") + fence + ui.codeLanguage.value + "\n" + code + "\n" + fence;
  }

  function splitAnswer(answer, coding) {
    const match = coding ? answer.match(/^(`{3,})([\w+#.-]*)[ \t]*\n([\s\S]*?)\n?\1[ \t]*$/m) : null;
    if (!match) return { text: answer, code: "", language: "" };
    const text = (answer.slice(0, match.index) + answer.slice(match.index + match[0].length)).trim();
    return { text: text, code: match[3], language: match[2] };
  }

  function paintCounter() {
    const length = composeAnswer().length;
    const over = length - MAX_ANSWER;
    ui.counter.textContent = over > 0
      ? number(length) + " / " + number(MAX_ANSWER) + " characters: " + number(over) + " over the limit, shorten it to send"
      : number(length) + " / " + number(MAX_ANSWER) + " characters";
    ui.counter.classList.toggle("counter--over", over > 0);
    return over;
  }

  function paintLines() {
    if (!ui.code) return;
    const count = ui.code.value.split("\n").length;
    const lines = [];
    for (let n = 1; n <= count; n += 1) lines.push(n);
    ui.codeLines.textContent = lines.join("\n");
    ui.codeLines.scrollTop = ui.code.scrollTop;
  }

  function showFeedback(evaluation, questionText, item) {
    if (!evaluation) return; // the server sends one only when the mode shows it
    // the stream may deliver an evaluation already shown (after a skip, say): the skip note stays
    const repeat = Boolean(item && feedbackItem && item.id === feedbackItem.id &&
      ui.feedbackScore.textContent === evaluation.score + "/100");
    if (item) feedbackItem = item;
    if (ui.skipNote && !repeat) ui.skipNote.hidden = true;
    ui.feedbackScore.textContent = evaluation.score + "/100";
    // the band comes from the server (AnswerEvaluation.band_class), never derived here
    ui.feedbackScore.className = "score-pill " + (evaluation.band_class || "score--none");
    ui.feedbackQuestion.textContent = questionText || "";
    fill(ui.feedbackStrengths, evaluation.strengths);
    fill(ui.feedbackNotes, evaluation.feedback);
    ui.feedbackStrengthsBox.hidden = !(evaluation.strengths || []).length;
    ui.feedbackNotesBox.hidden = !(evaluation.feedback || []).length;
    ui.feedback.hidden = FINAL.has(session.status);
    paintRetry();
  }

  function paintRetry() {
    if (!ui.retry) return;
    const can = session.status === "active" && Boolean(feedbackItem) && !retryItem;
    ui.retry.hidden = !can;
    ui.retryNote.hidden = !can;
    ui.retry.disabled = busy;
  }

  function render(view) {
    if (!view || (session && view.version < session.version)) return;
    session = view;
    setClock(view.remaining_seconds, view.status);
    paint();
    if (FINAL.has(view.status)) stopLive();
  }

  function paint() {
    const view = session;
    const st = view.status;
    const q = view.current_question;
    const active = st === "active";
    room.dataset.status = st;
    ui.status.textContent = label(st);
    ui.status.className = "badge badge--" + st;

    ui.created.hidden = st !== "created";
    ui.paused.hidden = st !== "paused";
    ui.question.hidden = !(active && (q || retryItem));
    ui.done.hidden = !(active && !q) || Boolean(retryItem);
    ui.final.hidden = !FINAL.has(st);
    say(ui.finalStatus, st);
    if (FINAL.has(st)) ui.feedback.hidden = true;
    ui.connectionBox.hidden = FINAL.has(st);

    showQuestion(q);
    ui.answer.readOnly = !active;
    if (ui.code) ui.code.readOnly = !active;
    if (ui.cancel) ui.cancel.hidden = FINAL.has(st);
    paintRetry();
    ui.submit.disabled = !active || busy;
    ui.skip.disabled = !active || busy;
    if (ui.start) ui.start.disabled = busy;
    ui.pause.hidden = !active;
    ui.resume.hidden = st !== "paused";
    ui.end.hidden = !(active || st === "paused");

    ui.progressText.textContent = view.progress_text;
    if (view.progress) {
      ui.progressBar.max = Math.max(view.progress.total, 1);
      ui.progressBar.value = view.progress.answered + view.progress.skipped;
    }
    ui.meter.max = view.token_budget;
    ui.meter.value = view.tokens_used;
    const warnAt = Math.round(view.token_budget * view.config.token_warning_threshold);
    ui.meter.low = warnAt;
    ui.meter.high = warnAt;
    ui.tokenText.textContent = number(view.tokens_used) + " of " + number(view.token_budget) + " tokens used" +
      (view.config.ai_provider === "offline" ? " (the offline provider uses none)" : "");
  }

  async function refresh() {
    if (refreshing) return;
    refreshing = true;
    try {
      render(await api("GET", ""));
    } catch (error) {
      if (error.status === 401 || error.status === 403 || error.status === 404) {
        stopLive();
        showError(error.message);
      }
    } finally {
      refreshing = false;
    }
  }

  // -- actions -------------------------------------------------------------------------------

  function setBusy(value) {
    busy = value;
    [ui.submit, ui.skip, ui.start].forEach((button) => {
      if (button) button.setAttribute("aria-busy", String(value));
    });
    paint();
  }

  async function act(action) {
    if (busy) return;
    showError("");
    setBusy(true);
    try {
      render(await api("POST", "/" + action));
      if (action === "start" || action === "resume") {
        ui.answer.focus();
        announce(action === "start" ? "Interview started. " + ui.text.textContent : "Interview resumed");
      } else if (action === "pause") {
        announce("Interview paused. The clock is stopped.");
        ui.resume.focus();
      } else if (action === "end") {
        window.location.assign("/sessions/" + encodeURIComponent(sessionId) + "/report");
      } else if (action === "cancel") {
        announce("Interview cancelled.");
        $("report-link").focus();
      }
    } catch (error) {
      showError(error.message);
      refresh();
    } finally {
      setBusy(false);
    }
  }

  async function submitAnswer() {
    if (busy || session.status !== "active" || !shownId) return;
    const questionId = shownId;
    const questionText = ui.text.textContent;
    const text = composeAnswer();
    const over = paintCounter();
    if (over > 0) {
      ui.answerError.textContent = "Your answer is " + number(over) + " characters over the limit of " +
        number(MAX_ANSWER) + ". Shorten it to send it; nothing was cut.";
      ui.answerError.hidden = false;
      ui.answer.setAttribute("aria-invalid", "true");
      ui.answer.setAttribute("aria-describedby", "answer-hint answer-counter answer-error");
      ui.answer.focus();
      return;
    }
    if (!text) {
      ui.answerError.textContent = "Write an answer first, or skip the question.";
      ui.answerError.hidden = false;
      ui.answer.setAttribute("aria-invalid", "true");
      ui.answer.setAttribute("aria-describedby", "answer-hint answer-error");
      ui.answer.focus();
      return;
    }
    ui.answerError.hidden = true;
    ui.answer.removeAttribute("aria-invalid");
    ui.answer.setAttribute("aria-describedby", "answer-hint");
    showError("");
    setBusy(true);
    try {
      if (board && !board.isBlank() && boardChanged) {
        say(ui.boardStatus, "Saving the whiteboard…");
        const png = await board.toBlob();
        await api("PUT", questionPath(questionId) + "/whiteboard", png, "image/png");
        whiteboards[questionId] = base + "/whiteboards/" + questionId.split("/").map(encodeURIComponent).join("/");
        boardChanged = false;
        say(ui.boardStatus, "Whiteboard saved");
      }
      const result = await api("POST", "/answers", JSON.stringify({
        question_id: questionId,
        text: text,
        time_spent_seconds: Math.min(spent, MAX_SPENT_SECONDS),
      }), "application/json");
      forget(questionId);
      store("last", questionId, text);
      if (ui.codeLanguage && ui.codeBox && !ui.codeBox.hidden) store("lang", "default", ui.codeLanguage.value);
      const retried = Boolean(retryItem);
      if (ui.skipNote) ui.skipNote.hidden = true;
      retryItem = null;
      shownId = null; // show whatever the server asks next (the board note stays with its question)
      if (result.evaluation) showFeedback(result.evaluation, questionText, result.item);
      render(result.session);
      if (retried && result.evaluation) {
        announce("Second attempt scored " + result.evaluation.score + "/100; the best attempt counts.");
      }
      const next = result.session.current_question;
      if (result.follow_up) {
        announcedFollowUps.add(result.follow_up.id);
        announce("Follow-up question: " + result.follow_up.text);
      } else if (next) {
        announce("Answer saved. Next question: " + next.text);
      } else {
        announce("Answer saved. Every question is answered.");
      }
      if (next) ui.answer.focus();
    } catch (error) {
      showError(error.message);
      refresh();
    } finally {
      setBusy(false);
    }
  }

  async function skipQuestion() {
    if (busy || session.status !== "active" || !shownId) return;
    const questionId = shownId;
    showError("");
    setBusy(true);
    try {
      const view = await api("POST", questionPath(questionId) + "/skip");
      forget(questionId);
      render(view);
      // the last feedback card stays; the note says what the skip cost
      if (ui.skipNote && !ui.feedback.hidden) ui.skipNote.hidden = false;
      announce(view.current_question ? "Skipped. Next question: " + view.current_question.text : "Skipped. Every question is done.");
      if (view.current_question) ui.answer.focus();
    } catch (error) {
      showError(error.message);
      refresh();
    } finally {
      setBusy(false);
    }
  }

  function tryAgain() {
    if (!feedbackItem || session.status !== "active" || busy) return;
    retryItem = feedbackItem;
    shownId = null;
    paint();
    announce("Trying again: " + retryItem.text);
    ui.answer.focus();
  }

  function stopTrying() {
    retryItem = null;
    shownId = null;
    paint();
    ui.answer.focus();
  }

  function askToCancel() {
    if (typeof ui.cancelDialog.showModal === "function") {
      ui.cancelDialog.returnValue = "";
      ui.cancelDialog.showModal();
    } else if (window.confirm("Cancel the interview?")) {
      act("cancel");
    }
  }

  function askToEnd() {
    if (typeof ui.dialog.showModal === "function") {
      ui.dialog.returnValue = "";
      ui.dialog.showModal();
    } else if (window.confirm("End the interview now?")) {
      act("end");
    }
  }

  // -- live updates ------------------------------------------------------------------------------

  function handleEvent(event, view) {
    lastSeq = Math.max(lastSeq, event.seq);
    render(view);
    const data = event.data || {};
    if (event.type === "follow_up_asked" && !announcedFollowUps.has(data.item_id)) {
      announcedFollowUps.add(data.item_id);
      announce("Follow-up question: " + data.text);
    } else if (event.type === "answer_evaluated" && data.evaluation) {
      showFeedback(data.evaluation, questionTexts.get(data.item_id) || "", items.get(data.item_id));
    } else if (event.type === "budget_warning") {
      announce("The token budget is nearly used up.");
    } else if (event.type === "session_expired") {
      announce("Time is up. The interview has ended.");
    } else if (event.type === "provider_fallback" && data.notice) {
      // the AI provider failed or the budget ran out: say so, the interview goes on offline
      say(ui.aiNotice, data.notice);
      ui.aiNotice.hidden = false;
      announce(data.notice);
    }
  }

  function startPolling() {
    if (pollTimer || FINAL.has(session.status)) return;
    say(ui.connection, "updates every few seconds");
    pollTimer = window.setInterval(refresh, POLL_MS);
  }
  function stopPolling() {
    if (pollTimer) window.clearInterval(pollTimer);
    pollTimer = null;
  }
  function stopLive() {
    stopPolling();
    if (reconnectTimer) window.clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (socket) {
      const open = socket;
      socket = null;
      open.onclose = null;
      open.close();
    }
  }

  function connect() {
    reconnectTimer = null;
    if (FINAL.has(session.status) || !("WebSocket" in window)) {
      if (!FINAL.has(session.status)) startPolling();
      return;
    }
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    let ws;
    try {
      ws = new WebSocket(scheme + "//" + window.location.host + base + "/stream?after=" + lastSeq);
    } catch (error) {
      startPolling();
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.onopen = () => {
      reconnectDelay = 1000;
      stopPolling();
      say(ui.connection, "live updates");
    };
    ws.onmessage = (message) => {
      let data;
      try { data = JSON.parse(message.data); } catch (error) { return; }
      if (data.type === "event") {
        handleEvent(data.event, data.session);
      } else if (data.type === "tick") {
        setClock(data.remaining_seconds, data.status);
        if (data.status !== session.status) refresh();
      }
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      if (FINAL.has(session.status)) return;
      startPolling();
      if (event.code >= 4400 && event.code < 4500) return; // refused: polling shows why
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    if (reconnectTimer) return;
    reconnectTimer = window.setTimeout(connect, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, MAX_RECONNECT_MS);
  }

  // -- wiring --------------------------------------------------------------------------------

  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitAnswer();
  });
  ui.answer.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submitAnswer();
    }
  });
  ui.answer.addEventListener("input", () => {
    if (shownId) store("draft", shownId, ui.answer.value);
    paintCounter();
    if (!ui.answerError.hidden && composeAnswer() && paintCounter() <= 0) ui.answerError.hidden = true;
  });
  ui.skip.addEventListener("click", skipQuestion);
  if (ui.start) ui.start.addEventListener("click", () => act("start"));
  document.querySelectorAll("[data-action]").forEach((button) => {
    button.addEventListener("click", () => {
      const action = button.dataset.action;
      if (action === "end") askToEnd();
      else if (action === "cancel") askToCancel();
      else act(action);
    });
  });
  ui.dialog.addEventListener("close", () => {
    if (ui.dialog.returnValue === "end") act("end");
  });
  ui.cancelDialog.addEventListener("close", () => {
    if (ui.cancelDialog.returnValue === "cancel-session") act("cancel");
  });
  if (ui.retry) ui.retry.addEventListener("click", tryAgain);
  if (ui.retryCancel) ui.retryCancel.addEventListener("click", stopTrying);
  if (ui.code) {
    let leaving = false; // Esc, then Tab, leaves the editor (no keyboard trap)
    ui.code.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { leaving = true; return; }
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        submitAnswer();
        return;
      }
      if (event.key === "Tab" && !leaving && !event.altKey && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        indent(ui.code, event.shiftKey);
        return;
      }
      if (event.key !== "Shift") leaving = false; // a Tab after Esc moves the focus on
    });
    ui.code.addEventListener("blur", () => { leaving = false; });
    ui.code.addEventListener("input", () => {
      if (shownId) store("code", shownId, ui.code.value);
      paintLines();
      paintCounter();
      if (!ui.answerError.hidden && composeAnswer()) ui.answerError.hidden = true;
    });
    ui.code.addEventListener("scroll", () => { ui.codeLines.scrollTop = ui.code.scrollTop; });
    ui.codeLanguage.addEventListener("change", () => {
      if (shownId) store("lang", shownId, ui.codeLanguage.value);
      paintCounter();
    });
  }

  // Tab inserts four spaces (or indents every selected line); Shift+Tab takes them away
  function indent(field, outdent) {
    const value = field.value;
    const start = field.selectionStart;
    const end = field.selectionEnd;
    const lineStart = value.lastIndexOf("\n", start - 1) + 1;
    if (!outdent && start === end) {
      field.setRangeText("    ", start, end, "end");
    } else {
      const block = value.slice(lineStart, end);
      const changed = outdent
        ? block.replace(/^( {1,4}|\t)/gm, "")
        : block.replace(/^/gm, "    ");
      field.setRangeText(changed, lineStart, end, "select");
      if (start === end) {
        const moved = Math.max(lineStart, start + (changed.length - block.length));
        field.setSelectionRange(moved, moved);
      }
    }
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();
  });
  // issue 13: voice.js submitted a transcript; show its feedback and move on like a typed answer
  room.addEventListener("rehearse:answered", (event) => {
    const result = event.detail || {};
    const questionText = ui.text.textContent;
    forget(result.question_id);
    retryItem = null;
    shownId = null;
    if (result.score) showFeedback(result.score, questionText, items.get(result.question_id));
    refresh();
    announce(result.next_question ? "Answer saved. Next question: " + result.next_question.text
      : "Answer saved.");
  });

  window.setInterval(() => {
    if (session.status === "active" && shownId) {
      spent += 1;
      store("spent", shownId, String(spent));
    }
  }, 1000);
  window.setInterval(paintClock, 250);

  render(session);
  if (initial.feedback) showFeedback(initial.feedback, initial.feedback.question, feedbackItem);
  connect();
})();
