// The player page of the web chat. One connection at a time (a WebSocket, or long-polling
// where WebSockets are blocked) that reconnects by itself with back-off; an outbox of messages
// and files not yet acknowledged, sent one at a time in the player's order, its texts kept in
// localStorage and resent after a reconnect (the server deduplicates them by client_id);
// receipts for agent replies. Everything is rendered with textContent, never parsed as HTML,
// so nothing a player or an agent writes can run as code. The page's own words come from the
// server in the player's language (data-strings, chosen with <html lang>); refusals are
// shown in those words by their code, not in the server's English.
(function () {
  "use strict";

  const PATH = document.body.dataset.path;
  const EMBED = document.body.dataset.embed === "1";
  const STRINGS = parseStrings(document.body.dataset.strings);
  const LOCALE = locale(document.documentElement.lang);
  const params = new URLSearchParams(location.search);
  const $ = (id) => document.getElementById(id);
  const els = {
    messages: $("messages"), text: $("text"), send: $("send"), attach: $("attach"), typing: $("typing"),
    status: $("status"), notice: $("notice"), composer: $("composer"), close: $("close"), title: $("title"),
  };

  // localStorage may be unavailable (blocked third-party storage in an iframe): fall back to
  // memory, which still works until the page is closed.
  const memory = new Map();
  const storage = {
    get(k) { try { return localStorage.getItem("webchat:" + PATH + ":" + k); } catch (e) { return memory.get(k) || null; } },
    set(k, v) {
      try {
        if (v == null) localStorage.removeItem("webchat:" + PATH + ":" + k);
        else localStorage.setItem("webchat:" + PATH + ":" + k, v);
      } catch (e) { if (v == null) memory.delete(k); else memory.set(k, v); }
    },
  };

  const state = {
    token: storage.get("token") || "",
    outbox: loadOutbox(),
    // The client_id of the one outbox message on the wire. The next goes only once it is
    // stored or refused: messages sent together could be stored out of order, on the
    // long-poll fallback (one request each, in flight at once) as on the WebSocket (a later
    // message stored while an earlier one waits to be resent).
    sending: null,
    // The client_id of the file being uploaded. Files go through the outbox too, so nothing
    // chosen or typed after one is stored before it; but an upload is a request of its own,
    // not on the connection, so a reconnect does not end it: only its answer does.
    uploading: null,
    transport: null,
    ready: false,
    fatal: false,
    attempts: 0,
    wsFailures: 0,
    open: true, // the widget tells an embedded page when it is hidden
    limits: { text_chars: 4000, upload_bytes: 0, upload_types: [] },
    shown: new Map(), // "c:<client_id>" or "m:<id>" → element
    receipts: new Map(), // reply id → the furthest receipt sent
    lastTyping: 0,
    typingTimer: 0,
    noticeTimer: 0,
  };

  // A player token means the casino says who is chatting. An empty one ("player=") means
  // nobody is signed in: forget an identified session, so the next person at a shared
  // computer does not see the previous player's chat.
  const player = params.has("player") ? params.get("player") : null;
  if (player === "" && tokenPlayer(state.token)) forgetToken();
  const language = params.get("lang") || navigator.language || "en";

  // ---- words ----

  function parseStrings(json) {
    try { return JSON.parse(json || "{}") || {}; } catch (e) { return {}; }
  }

  // locale is the page's language if Intl knows it (an operator may add any tag), for
  // numbers written into sentences of that language.
  function locale(tag) {
    try { return Intl.getCanonicalLocales(tag)[0] || "en"; } catch (e) { return "en"; }
  }

  // t returns the text for key with its {placeholders} filled in; the key itself if the server
  // sent no text for it, which the tests would catch.
  function t(key, vars) {
    let text = STRINGS[key] || key;
    for (const [name, value] of Object.entries(vars || {})) text = text.split("{" + name + "}").join(value);
    return text;
  }

  function number(n) {
    return new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 1 }).format(n);
  }

  function size(bytes) {
    return bytes >= 1048576 ? number(bytes / 1048576) + " MB" : number(Math.ceil(bytes / 1024)) + " KB";
  }

  // errorText is what the player reads about a refusal: the page's own words for its code.
  // Only a code this page has no words for (a newer server) shows the server's English.
  function errorText(code, message, clientID) {
    switch (code) {
      case "unavailable": return t(clientID ? "busy" : "unavailable");
      case "too_long": return t("too_long", { limit: number(state.limits.text_chars) });
      case "too_large":
        return state.limits.upload_bytes ? t("file_too_large", { limit: size(state.limits.upload_bytes) }) : t("error");
      case "unsupported_type": return t((state.limits.upload_types || []).length ? "file_type" : "no_attachments");
      case "invalid_token": return t("session_expired");
      case "rate_limited": case "rejected": case "empty": case "invalid_player": case "too_many_connections":
      case "image_too_large": case "storage_full": case "invalid_phone":
        return t(code);
      case "bad_request": case "hello_first": case "not_found": case "forbidden_origin": return t("error");
    }
    return message || t("error");
  }

  function tokenPlayer(token) {
    try {
      const payload = token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(payload)).player_id || "";
    } catch (e) {
      return "";
    }
  }

  function forgetToken() {
    state.token = "";
    storage.set("token", null);
  }

  function loadOutbox() {
    try {
      const v = JSON.parse(storage.get("outbox") || "[]");
      return Array.isArray(v) ? v.filter((o) => o && typeof o.client_id === "string" && typeof o.text === "string" &&
        (!o.callback || typeof o.callback.phone === "string")) : [];
    } catch (e) {
      return [];
    }
  }

  // Files stay in memory only: a File cannot be put in storage. A reload forgets the ones not
  // uploaded yet, and the player sees them gone.
  function saveOutbox() {
    const texts = state.outbox.filter((o) => !o.file);
    storage.set("outbox", texts.length ? JSON.stringify(texts) : null);
  }

  function newID() {
    if (crypto.randomUUID) return crypto.randomUUID(); // secure contexts only
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // ---- connection ----

  function connect() {
    if (state.fatal) return;
    setStatus(state.attempts ? "reconnecting" : "connecting");
    const usePoll = params.get("transport") === "poll" || state.wsFailures >= 2 || !("WebSocket" in window);
    const handlers = {
      open() { t.send(hello()); },
      frame(f) { if (state.transport === t) onFrame(f); },
      close(opened) {
        if (state.transport !== t) return; // replaced on purpose
        state.transport = null;
        state.ready = false;
        if (t.name === "websocket") state.wsFailures = opened ? 0 : state.wsFailures + 1;
        scheduleReconnect();
      },
    };
    const t = usePoll ? pollTransport(handlers) : wsTransport(handlers);
    state.transport = t;
  }

  function reconnectNow() {
    const t = state.transport;
    state.transport = null;
    state.ready = false;
    if (t) t.close();
    connect();
  }

  function scheduleReconnect() {
    if (state.fatal) return;
    state.attempts++;
    setStatus("reconnecting");
    const delay = Math.min(30000, 1000 * 2 ** Math.min(state.attempts - 1, 5)) * (0.5 + Math.random() / 2);
    setTimeout(() => { if (!state.transport) connect(); }, delay);
  }

  function hello() {
    const f = { type: "hello", language };
    if (state.token) f.token = state.token;
    if (player) f.player = player;
    return f;
  }

  function wsTransport(h) {
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + PATH + "/ws");
    let opened = false;
    ws.addEventListener("open", () => { opened = true; h.open(); });
    ws.addEventListener("message", (e) => {
      let f;
      try { f = JSON.parse(e.data); } catch (err) { return; }
      h.frame(f);
    });
    ws.addEventListener("close", () => h.close(opened));
    return {
      name: "websocket",
      send(frame) { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame)); },
      close() { try { ws.close(1000); } catch (e) { /* already closed */ } },
    };
  }

  // The long-poll fallback: frames go up with POST /api/send (the answer holds the frames a
  // WebSocket would have sent back), pushed frames come down with GET /api/poll.
  function pollTransport(h) {
    const ctrl = new AbortController();
    let closed = false;
    let cursor = 0;
    let polling = false;

    function fail() {
      if (closed) return;
      closed = true;
      ctrl.abort();
      h.close(true);
    }

    async function post(frame) {
      const headers = { "Content-Type": "application/json" };
      if (frame.type !== "hello" && state.token) headers.Authorization = "Bearer " + state.token;
      const res = await fetch(PATH + "/api/send", { method: "POST", headers, body: JSON.stringify(frame), signal: ctrl.signal });
      if (!res.ok) throw new Error("HTTP " + res.status);
      const body = await res.json();
      for (const f of body.frames || []) h.frame(f);
      if (body.cursor) {
        cursor = body.cursor;
        if (!polling) poll();
      }
    }

    async function poll() {
      polling = true;
      while (!closed) {
        try {
          const res = await fetch(PATH + "/api/poll?after=" + cursor, {
            headers: { Authorization: "Bearer " + state.token }, signal: ctrl.signal, cache: "no-store",
          });
          const body = await res.json();
          if (!res.ok) {
            h.frame({ type: "error", code: body.error.code, message: body.error.message });
            fail();
            return;
          }
          if (body.reset) {
            polling = false;
            post(hello()).catch(fail); // reload the history, then poll from the new cursor
            return;
          }
          cursor = body.cursor;
          for (const f of body.frames) h.frame(f);
        } catch (e) {
          fail();
          return;
        }
      }
    }

    setTimeout(() => h.open(), 0);
    return {
      name: "poll",
      send(frame) { post(frame).catch(fail); },
      close() { closed = true; ctrl.abort(); },
    };
  }

  // ---- frames ----

  function onFrame(f) {
    switch (f.type) {
      case "welcome": return onWelcome(f);
      case "ack": return onAck(f.client_id, f.id, f.callback);
      case "message": return onMessage(f);
      case "typing": return showTyping();
      case "error": return onError(f);
    }
  }

  function onWelcome(f) {
    state.token = f.token;
    storage.set("token", f.token);
    state.limits = f.limits || state.limits;
    document.getElementById("attach-label").hidden = !(state.limits.upload_types || []).length;
    state.ready = true;
    state.attempts = 0;
    setStatus("online");
    els.title.textContent = f.title;
    document.title = f.title;
    showGreeting(f.greeting);
    const stored = new Set();
    for (const m of f.history || []) {
      render(m);
      if (m.client_id) stored.add(m.client_id);
    }
    // What the server already has (the ack was lost) leaves the outbox; the rest is resent.
    state.outbox = state.outbox.filter((o) => !stored.has(o.client_id));
    saveOutbox();
    for (const o of state.outbox) renderPending(o);
    state.sending = null; // whatever was on the old connection is answered by this history
    flush();
    // Receipts for replies the player has not acknowledged yet. A reply still queued is not
    // acknowledged now: the store would ignore it, and its push will trigger the receipt.
    for (const m of f.history || []) {
      if (m.from !== "agent") continue;
      if (m.state === "read" || m.state === "delivered") state.receipts.set(m.id, m.state);
      else if (m.state === "sent") receipt(m.id, "delivered");
    }
    readVisible();
  }

  function onAck(clientID, id, stored) {
    state.outbox = state.outbox.filter((o) => o.client_id !== clientID);
    saveOutbox();
    if (state.sending === clientID) state.sending = null;
    flush();
    const el = state.shown.get("c:" + clientID);
    if (!el) return;
    if (id) el.dataset.id = id;
    if (stored) el.querySelector(".text").textContent = t("callback_requested", { phone: stored.phone });
    if (el.dataset.state === "pending" || el.dataset.state === "failed") setState(el, "queued");
  }

  function onMessage(m) {
    if (m.from === "player") {
      // Our own message, echoed to every open page of the conversation.
      if (state.outbox.some((o) => o.client_id === m.client_id)) return onAck(m.client_id, m.id);
      render(m);
      return;
    }
    hideTyping();
    render(m);
    receipt(m.id, "delivered");
    if (visible()) receipt(m.id, "read");
    else if (EMBED) parent.postMessage({ type: "webchat:unread" }, "*");
  }

  function onError(f) {
    switch (f.code) {
      case "invalid_token":
        // A new visitor starts; the old session's messages are not theirs to see.
        forgetToken();
        clearMessages();
        reconnectNow();
        return;
      case "invalid_player":
      case "too_many_connections":
        state.fatal = true;
        setStatus("offline");
        showNotice(errorText(f.code, f.message), true);
        if (state.transport) state.transport.close();
        return;
      case "invalid_phone":
        // Asked again in the form, with what the player typed, rather than as a failed message.
        if (f.client_id) forgetPending(f.client_id, errorText(f.code, f.message));
        else showCallbackForm(errorText(f.code, f.message));
        return;
      case "unavailable":
        showNotice(errorText(f.code, f.message, f.client_id));
        if (f.client_id) {
          // It stays first in the outbox, so nothing typed after it overtakes it.
          if (state.sending === f.client_id) state.sending = null;
          setTimeout(flush, 5000);
        } else if (state.transport && state.transport.name === "poll") { state.transport.close(); state.transport = null; scheduleReconnect(); }
        return;
    }
    const text = errorText(f.code, f.message, f.client_id);
    if (f.client_id) {
      const refused = state.outbox.find((o) => o.client_id === f.client_id);
      state.outbox = state.outbox.filter((o) => o.client_id !== f.client_id);
      saveOutbox();
      markFailed(f.client_id, text, refused && refused.callback ? () => askAgain(refused) : null);
      if (state.sending === f.client_id) state.sending = null;
      flush();
    }
    showNotice(text);
  }

  // flush sends the first outbox message unless one is on the wire or a file is being
  // uploaded; acks, refusals and settled uploads call it again for the next.
  function flush() {
    if (!state.ready || state.sending || state.uploading || !state.outbox.length) return; // the next welcome sends it
    const o = state.outbox[0];
    if (o.file) {
      state.uploading = o.client_id;
      upload(o);
      return;
    }
    state.sending = o.client_id;
    if (o.callback) {
      state.transport.send({ type: "callback", client_id: o.client_id, phone: o.callback.phone, preferred_time: o.callback.preferred_time });
      return;
    }
    state.transport.send({ type: "message", client_id: o.client_id, text: o.text });
  }

  // ---- receipts and typing ----

  const rank = { delivered: 1, read: 2 };

  function receipt(id, st) {
    if (!id || !state.ready || (rank[state.receipts.get(id)] || 0) >= rank[st]) return;
    state.receipts.set(id, st);
    state.transport.send({ type: "receipt", id, state: st });
  }

  function visible() {
    return document.visibilityState === "visible" && state.open;
  }

  function readVisible() {
    if (!visible()) return;
    for (const el of els.messages.querySelectorAll(".msg.agent")) {
      if (el.dataset.state !== "queued" && el.dataset.state !== "failed") receipt(el.dataset.id, "read");
    }
  }

  document.addEventListener("visibilitychange", readVisible);
  window.addEventListener("focus", readVisible);

  function showTyping() {
    els.typing.hidden = false;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(hideTyping, 6000);
  }

  function hideTyping() {
    clearTimeout(state.typingTimer);
    els.typing.hidden = true;
  }

  // ---- sending ----

  els.composer.addEventListener("submit", (e) => {
    e.preventDefault();
    sendText();
  });

  els.text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendText();
      return;
    }
    if (state.ready && Date.now() - state.lastTyping > 3000) {
      state.lastTyping = Date.now();
      state.transport.send({ type: "typing" });
    }
  });

  function sendText() {
    const text = els.text.value.trim();
    if (!text) return;
    if ([...text].length > state.limits.text_chars) {
      showNotice(t("too_long", { limit: number(state.limits.text_chars) }));
      return;
    }
    queueText(text);
    els.text.value = "";
  }

  // queueText sends text as the player's message: through the outbox, so it is stored,
  // acknowledged and resent after a reconnect like anything typed.
  function queueText(text) {
    const o = { client_id: newID(), text, at: new Date().toISOString() };
    state.outbox.push(o);
    saveOutbox();
    renderPending(o);
    flush();
  }

  els.attach.addEventListener("change", () => {
    for (const file of els.attach.files) attach(file, newID());
    els.attach.value = "";
  });

  function attach(file, clientID) {
    const image = file.type.startsWith("image/");
    const local = { name: file.name, size: file.size, media_type: file.type, local: image ? URL.createObjectURL(file) : "" };
    const o = { client_id: clientID, text: "", at: new Date().toISOString(), attachments: [local], file };
    const el = renderPending(o);
    const queue = () => {
      if (!state.ready) return markFailed(clientID, t("not_connected"), o.retry);
      state.outbox.push(o);
      flush();
    };
    // A retried file goes after whatever was queued since, not back in its place: the messages
    // after it may be stored already, and holding the rest back until the player notices a
    // failed file would stall the chat. The player saw it fail and sends it again, like a text
    // sent again with Retry.
    o.retry = () => { setState(el, "pending"); queue(); };
    if (state.limits.upload_bytes && file.size > state.limits.upload_bytes) {
      return markFailed(clientID, t("file_too_large", { limit: size(state.limits.upload_bytes) }));
    }
    queue();
  }

  // upload sends the file at the head of the outbox. Stored or not, it is settled once
  // answered, and the outbox goes on: a failed file shows its Retry and holds nothing up.
  async function upload(o) {
    const form = new FormData();
    form.append("client_id", o.client_id);
    form.append("file", o.file, o.file.name);
    let res = null;
    let body = {};
    try {
      res = await fetch(PATH + "/api/upload", { method: "POST", headers: { Authorization: "Bearer " + state.token }, body: form });
      body = await res.json().catch(() => ({}));
    } catch (e) { /* the connection was lost */ }
    state.uploading = null;
    if (res && res.ok) return onAck(o.client_id, body.id);
    state.outbox = state.outbox.filter((x) => x !== o);
    if (!res) {
      markFailed(o.client_id, t("upload_lost"), o.retry);
    } else {
      const err = body.error || {};
      // A proxy in front may answer a refusal itself, without the gateway's JSON.
      const code = err.code || { 413: "too_large", 415: "unsupported_type", 429: "rate_limited" }[res.status];
      const again = ["unavailable", "rate_limited", "storage_full"].includes(code) ? o.retry : null;
      let text = t("upload_failed");
      if (code === "empty") text = t("file_empty");
      else if (code === "rate_limited") text = t("upload_rate_limited"); // files per conversation, or bytes per hour
      else if (code) text = errorText(code, err.message, o.client_id);
      markFailed(o.client_id, text, again);
      showNotice(text);
    }
    flush();
  }

  // ---- call-back requests ----
  // The action is on the page only when the chat takes them (callback_requests). The request
  // goes through the outbox like a message: stored, acknowledged, resent after a reconnect.

  const cb = {
    open: $("callback-open"), form: $("callback"), phone: $("callback-phone"), time: $("callback-time"),
    error: $("callback-error"), cancel: $("callback-cancel"),
  };

  function showCallbackForm(error) {
    if (!cb.form) return;
    cb.form.hidden = false;
    cb.open.hidden = true;
    cb.error.textContent = error || "";
    cb.error.hidden = !error;
    cb.phone.focus();
  }

  function hideCallbackForm() {
    cb.form.hidden = true;
    cb.open.hidden = false;
    cb.error.hidden = true;
  }

  // askAgain takes a refused request off the list and opens the form with what the player
  // typed: a request is sent again from the form, never as a text.
  function askAgain(o, error) {
    const el = state.shown.get("c:" + o.client_id);
    if (el) el.remove();
    state.shown.delete("c:" + o.client_id);
    if (!cb.form) return; // the chat stopped taking them since the request was typed
    cb.phone.value = o.callback.phone;
    cb.time.value = o.callback.preferred_time || "";
    showCallbackForm(error);
  }

  // forgetPending takes a refused request off the outbox; the form asks again.
  function forgetPending(clientID, error) {
    const o = state.outbox.find((x) => x.client_id === clientID);
    state.outbox = state.outbox.filter((x) => x.client_id !== clientID);
    saveOutbox();
    if (state.sending === clientID) state.sending = null;
    if (o && o.callback) askAgain(o, error);
    flush();
  }

  if (cb.form) {
    cb.open.addEventListener("click", () => showCallbackForm());
    cb.cancel.addEventListener("click", hideCallbackForm);
    cb.form.addEventListener("submit", (e) => {
      e.preventDefault();
      const phone = cb.phone.value.trim();
      if (!phone) return showCallbackForm(t("invalid_phone"));
      const o = { client_id: newID(), text: "", callback: { phone, preferred_time: cb.time.value.trim() }, at: new Date().toISOString() };
      state.outbox.push(o);
      saveOutbox();
      renderPending(o);
      cb.phone.value = "";
      cb.time.value = "";
      hideCallbackForm();
      flush();
    });
  }

  // ---- rendering ----

  function showGreeting(text) {
    let el = els.messages.querySelector(".greeting");
    if (!text) {
      if (el) el.remove();
      return;
    }
    if (!el) {
      el = document.createElement("li");
      el.className = "greeting";
      els.messages.prepend(el);
    }
    el.textContent = text;
  }

  function clearMessages() {
    state.shown.clear();
    state.receipts.clear();
    for (const el of els.messages.querySelectorAll(".msg")) el.remove();
  }

  function renderPending(o) {
    const el = render({ client_id: o.client_id, from: "player", kind: o.attachments ? "document" : "text", text: o.text,
      attachments: o.attachments, callback: o.callback, sent_at: o.at, state: "pending" });
    return el;
  }

  // render shows m once, keyed by client_id (player messages) or id (replies), and updates
  // its state when it is shown again (history after a reconnect).
  function render(m) {
    const key = m.client_id ? "c:" + m.client_id : "m:" + m.id;
    let el = state.shown.get(key);
    if (!el) {
      el = build(m);
      state.shown.set(key, el);
      insert(el);
    } else if (m.state === "pending") {
      return el;
    }
    if (m.id) el.dataset.id = m.id;
    if (m.from === "player") setState(el, m.state || "queued");
    else el.dataset.state = m.state || "sent";
    return el;
  }

  function build(m) {
    const el = document.createElement("li");
    el.className = "msg " + (m.from === "player" ? "player" : "agent");
    el.dataset.at = String(Date.parse(m.sent_at) || Date.now());
    if (m.from !== "player" && m.author) el.append(span("author", m.author));
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    if (m.text) bubble.append(span("text", m.text, "p"));
    if (m.callback) {
      // The request in the player's words; agents read it in theirs.
      el.classList.add("callback");
      bubble.append(span("text", t("callback_requested", { phone: m.callback.phone }), "p"));
      if (m.callback.preferred_time) bubble.append(span("when", m.callback.preferred_time, "p"));
    }
    if (m.attachments && m.attachments.length) bubble.append(files(m));
    el.append(bubble);
    const meta = document.createElement("div");
    meta.className = "meta";
    const time = span("time", new Date(Number(el.dataset.at)).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }), "time");
    meta.append(time);
    el.append(meta);
    // Kept on the element; showOptions draws them while it is the newest message.
    if (m.from !== "player" && Array.isArray(m.quick_replies)) el.quickReplies = m.quick_replies.filter((o) => typeof o === "string" && o);
    return el;
  }

  // showOptions puts the quick replies (the FAQ bot's "That helped", "Talk to an agent") of
  // the newest message under it as buttons. Any message after it answers them, so an older
  // one's are taken away, also when the history is shown again after a reload.
  function showOptions() {
    const items = els.messages.querySelectorAll(".msg");
    const last = items[items.length - 1];
    for (const box of els.messages.querySelectorAll(".options")) {
      if (box.parentElement !== last) box.remove();
    }
    if (!last || !last.quickReplies || !last.quickReplies.length || last.querySelector(".options")) return;
    const box = document.createElement("div");
    box.className = "options";
    box.setAttribute("role", "group");
    for (const text of last.quickReplies) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "option";
      button.textContent = text;
      button.addEventListener("click", () => {
        // Answered once: taken away now, not only when the player's message lands after the
        // reply (a page clock behind the server's would put it before). Focus goes back to
        // the text box rather than to the page.
        last.quickReplies = null;
        box.remove();
        queueText(text);
        els.text.focus();
      });
      box.append(button);
    }
    last.append(box);
    scrollDown();
  }

  function files(m) {
    const box = document.createElement("div");
    box.className = "files";
    m.attachments.forEach((a) => {
      const url = a.local || (a.url ? a.url + "?token=" + encodeURIComponent(state.token) : "");
      const link = document.createElement("a");
      link.className = "file";
      link.textContent = a.name;
      if (url) {
        link.href = url;
        link.download = a.name;
        link.rel = "noopener";
      }
      if (url && (a.media_type || "").startsWith("image/")) {
        const img = document.createElement("img");
        img.src = url;
        img.alt = a.name;
        img.loading = "lazy";
        box.append(img);
      }
      box.append(link);
    });
    return box;
  }

  function span(cls, text, tag) {
    const el = document.createElement(tag || "span");
    el.className = cls;
    el.textContent = text;
    return el;
  }

  // insert keeps the list in time order; history after a reconnect can fill gaps.
  function insert(el) {
    const at = Number(el.dataset.at);
    const items = els.messages.querySelectorAll(".msg");
    for (let i = items.length - 1; i >= 0; i--) {
      if (Number(items[i].dataset.at) <= at) {
        items[i].after(el);
        showOptions();
        return scrollDown();
      }
    }
    const greeting = els.messages.querySelector(".greeting");
    if (greeting) greeting.after(el);
    else els.messages.prepend(el);
    showOptions();
    scrollDown();
  }

  function scrollDown() {
    els.messages.scrollTop = els.messages.scrollHeight;
  }

  // setState shows where a player's message is: "sending…" until the gateway stored it, then
  // ✓ (stored), ✓✓ (it reached support), or "not sent" with the reason.
  function setState(el, st) {
    el.dataset.state = st;
    const meta = el.querySelector(".meta");
    for (const old of meta.querySelectorAll(".tick, .pending, .failed, .retry")) old.remove();
    if (st === "pending") {
      meta.append(span("pending", t("sending")));
    } else if (st === "failed") {
      meta.append(span("failed", t("not_sent")));
    } else {
      const reached = st === "sent" || st === "delivered" || st === "read";
      const tick = span("tick" + (reached ? " reached" : ""), reached ? "✓✓" : "✓");
      tick.title = t(reached ? "received" : "sent");
      meta.append(tick);
    }
  }

  function markFailed(clientID, reason, retry) {
    const el = state.shown.get("c:" + clientID);
    if (!el) return;
    setState(el, "failed");
    el.querySelector(".failed").title = reason || "";
    const meta = el.querySelector(".meta");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "retry";
    button.textContent = t("retry");
    button.addEventListener("click", () => {
      if (retry) return retry();
      const text = (el.querySelector(".text") || {}).textContent || "";
      if (!text) return;
      state.outbox.push({ client_id: clientID, text, at: new Date().toISOString() });
      saveOutbox();
      setState(el, "pending");
      flush();
    });
    meta.append(button);
  }

  function setStatus(kind) {
    els.status.textContent = t("status_" + kind);
    els.status.className = kind;
  }

  function showNotice(text, sticky) {
    els.notice.textContent = text;
    els.notice.hidden = false;
    clearTimeout(state.noticeTimer);
    if (!sticky) state.noticeTimer = setTimeout(() => { els.notice.hidden = true; }, 8000);
  }

  // ---- embedding ----

  if (EMBED) {
    if (els.close) els.close.addEventListener("click", () => parent.postMessage({ type: "webchat:close" }, "*"));
    window.addEventListener("message", (e) => {
      if (e.source !== parent || !e.data || e.data.type !== "webchat:open") return;
      state.open = !!e.data.open;
      readVisible();
      if (state.open) els.text.focus();
    });
  }

  window.addEventListener("online", () => { if (!state.transport) connect(); });
  connect();
})();
