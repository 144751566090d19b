/*
 * docqa chat widget: one script tag embeds a cited question-answering chat in any page.
 *
 *   <script src="https://HOST/widget.js" data-api="https://HOST" defer></script>
 *
 * Optional attributes: data-title, data-greeting, data-accent (a CSS colour),
 * data-position ("bottom-right" | "bottom-left"), data-api-key (sent as a Bearer token).
 *
 * Everything renders inside an open shadow root. Text from the server is only ever inserted
 * with textContent / createTextNode, never parsed as HTML (issue 4).
 */
(() => {
  "use strict";

  const SCRIPT = document.currentScript || document.querySelector("script[src*='widget.js'][data-api]");
  if (!SCRIPT || window.__docqaWidgetLoaded) return;
  window.__docqaWidgetLoaded = true;

  const DEFAULT_ACCENT = "#1d4ed8";
  const REQUEST_TIMEOUT_MS = 45000;
  const MAX_STORED_TURNS = 30;
  const MAX_MESSAGE_CHARS = 4000;
  const VISIBLE_SOURCES = 3;

  /** Reads the embedding script's data-* attributes into a validated config object. */
  function readConfig(script) {
    const data = script.dataset;
    let api = (data.api || "").trim();
    if (!api) api = new URL(script.src, document.baseURI).origin;
    api = api.replace(/\/+$/, "");
    const accent = (data.accent || "").trim();
    const validAccent = accent && window.CSS && CSS.supports("color", accent);
    return {
      api,
      title: (data.title || "").trim() || "Ask the docs",
      greeting: (data.greeting || "").trim() ||
        "Hi! Ask me a question about the documents. Every answer links to its source.",
      accent: validAccent ? accent : DEFAULT_ACCENT,
      position: data.position === "bottom-left" ? "bottom-left" : "bottom-right",
      apiKey: (data.apiKey || "").trim(),
    };
  }

  const STYLE = `
:host {
  all: initial !important;
  display: block !important;
  position: fixed !important;
  z-index: 2147483000 !important;
  bottom: 0 !important;
  right: 0 !important;
  left: auto !important;
  top: auto !important;
  width: 0 !important;
  height: 0 !important;
  margin: 0 !important;
  padding: 0 !important;
  border: 0 !important;
  opacity: 1 !important;
  visibility: visible !important;
  transform: none !important;
  filter: none !important;
  contain: none !important;
}
:host([data-position="bottom-left"]) { right: auto !important; left: 0 !important; }
.root, .root * { box-sizing: border-box; }
.root {
  --accent: ${DEFAULT_ACCENT};
  --fg: #111827; --muted: #4b5563; --bg: #ffffff; --soft: #f3f4f6; --line: #d1d5db;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--fg);
  text-align: left;
  letter-spacing: normal;
  word-spacing: normal;
  text-transform: none;
  -webkit-font-smoothing: antialiased;
}
[hidden] { display: none !important; }
button, input { font: inherit; color: inherit; margin: 0; }
:focus { outline: none; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.launcher {
  position: fixed; bottom: 20px; right: 20px;
  display: inline-flex; align-items: center; gap: 8px;
  min-height: 52px; padding: 0 20px 0 16px;
  border: 0; border-radius: 26px; cursor: pointer;
  background: var(--accent); color: #fff; font-weight: 600;
  box-shadow: 0 6px 20px rgba(0,0,0,.25);
}
.launcher svg { width: 22px; height: 22px; fill: currentColor; flex: none; }
.launcher:focus-visible { outline-color: var(--fg); outline-offset: 3px; }
.left .launcher { right: auto; left: 20px; }
.panel {
  position: fixed; bottom: 84px; right: 20px;
  display: flex; flex-direction: column;
  width: 390px; max-width: calc(100vw - 24px);
  height: 600px; max-height: calc(100vh - 104px);
  background: var(--bg); color: var(--fg);
  border: 1px solid var(--line); border-radius: 14px; overflow: hidden;
  box-shadow: 0 12px 40px rgba(0,0,0,.28);
}
.left .panel { right: auto; left: 20px; }
.head {
  display: flex; align-items: center; gap: 8px; flex: none;
  padding: 12px 12px 12px 16px; background: var(--accent); color: #fff;
}
.head h2 { flex: 1; margin: 0; font-size: 16px; font-weight: 650; line-height: 1.3; color: inherit; }
.close {
  display: inline-flex; align-items: center; justify-content: center;
  width: 36px; height: 36px; border: 0; border-radius: 8px;
  background: transparent; color: #fff; cursor: pointer; font-size: 22px; line-height: 1;
}
.reset {
  min-height: 32px; padding: 0 10px; border: 1px solid rgba(255,255,255,.7); border-radius: 8px;
  background: transparent; color: #fff; cursor: pointer; font-size: 13px; font-weight: 600;
}
.close:hover, .reset:hover { background: rgba(255,255,255,.18); }
.reset:focus-visible { outline-color: #fff; outline-offset: 2px; }
.close:focus-visible { outline-color: #fff; outline-offset: -3px; }
.log {
  flex: 1; overflow-y: auto; overscroll-behavior: contain;
  padding: 14px; display: flex; flex-direction: column; gap: 12px; background: var(--bg);
}
.msg { max-width: 92%; padding: 10px 12px; border-radius: 12px; overflow-wrap: anywhere; }
.msg p { margin: 0; }
.msg p + p, .msg p + ol, .msg p + .choices, .msg .choices + p { margin-top: 8px; }
.user { align-self: flex-end; background: var(--accent); color: #fff; border-bottom-right-radius: 4px; }
.bot { align-self: flex-start; background: var(--soft); border-bottom-left-radius: 4px; }
.greeting { color: var(--fg); }
.answer-text { font-weight: 500; }
.ref { font-size: 12px; vertical-align: super; color: var(--accent); font-weight: 600; text-decoration: none; }
a.ref:hover { text-decoration: underline; }
.abstain { font-weight: 600; }
.resolved { font-size: 12px; color: var(--muted); }
.label { margin: 10px 0 4px; font-size: 12px; font-weight: 700; color: var(--muted);
  text-transform: uppercase; letter-spacing: .04em; }
ol.cites { margin: 0; padding: 0 0 0 22px; }
ol.cites li { margin: 6px 0 0; padding-left: 2px; }
ol.cites a { font-size: 14px; color: var(--accent); font-weight: 600; text-decoration: underline; text-underline-offset: 2px; }
.section { display: block; font-size: 13px; color: var(--muted); }
.place { font-size: 12px; color: var(--muted); font-weight: 600; white-space: nowrap; }
ol.cites .place { margin-left: 6px; }
details { margin-top: 2px; font-size: 13px; }
details.more { margin-top: 8px; }
details.more > summary { font-weight: 600; }
summary { cursor: pointer; color: var(--muted); width: fit-content; border-radius: 4px; }
blockquote {
  margin: 4px 0 0; padding: 6px 10px; border-left: 3px solid var(--accent);
  background: var(--bg); color: var(--fg); max-height: 220px; overflow-y: auto;
}
.msg blockquote p + p { margin-top: 4px; }
.choices { display: flex; flex-wrap: wrap; gap: 8px; }
.choice, .retry {
  min-height: 36px; padding: 6px 12px; cursor: pointer; text-align: left;
  border: 1.5px solid var(--accent); border-radius: 18px; background: var(--bg); color: var(--accent);
  font-weight: 600;
}
.choice:hover, .retry:hover { background: var(--accent); color: #fff; }
.choice:disabled { opacity: .55; cursor: default; background: var(--bg); color: var(--accent); }
.error { background: #fef2f2; border: 1px solid #fecaca; color: #7f1d1d; }
.error .retry { margin-top: 8px; border-color: #b91c1c; color: #b91c1c; }
.error .retry:hover { background: #b91c1c; color: #fff; }
.typing { display: inline-flex; gap: 5px; align-items: center; padding: 14px 14px; }
.typing span { width: 7px; height: 7px; border-radius: 50%; background: var(--muted);
  animation: docqa-blink 1.2s infinite ease-in-out; }
.typing span:nth-child(2) { animation-delay: .2s; }
.typing span:nth-child(3) { animation-delay: .4s; }
@keyframes docqa-blink { 0%, 80%, 100% { opacity: .25; } 40% { opacity: 1; } }
@media (prefers-reduced-motion: reduce) { .typing span { animation: none; opacity: .6; } }
.composer { display: flex; gap: 8px; flex: none; padding: 10px; border-top: 1px solid var(--line); background: var(--bg); }
.composer input {
  flex: 1; min-width: 0; min-height: 42px; padding: 8px 12px;
  border: 1.5px solid var(--line); border-radius: 10px; background: var(--bg); color: var(--fg);
}
.composer input:focus-visible { outline: 2px solid var(--accent); outline-offset: 0; border-color: var(--accent); }
.send {
  flex: none; min-height: 42px; padding: 0 16px; border: 0; border-radius: 10px; cursor: pointer;
  background: var(--accent); color: #fff; font-weight: 600;
}
.send:disabled { opacity: .6; cursor: progress; }
.sr-only { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
@media (max-width: 480px) {
  .panel, .left .panel { inset: 0; width: 100vw; max-width: 100vw; height: 100%; max-height: none; border-radius: 0; border: 0; }
  .open .launcher { display: none; }
  .msg { max-width: 100%; }
}
`;

  /** Creates an element with attributes and children; strings become text nodes, never HTML. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      el.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return el;
  }

  /** The readable form of an answer or passage: its `display`, else (older servers) its raw `text`. */
  function shownText(span) {
    const display = span.display;
    return String(typeof display === "string" && display.trim() ? display : span.text || "");
  }

  /** A positive integer field of a span, else null (servers before pages existed send none). */
  function pageNumber(span, key) {
    const value = span[key];
    return Number.isInteger(value) && value > 0 ? value : null;
  }

  /** Where a cited span is: "p. 2", "pp. 2–3", "slide 4" (joined when several), or "". */
  function placeLabel(span) {
    const page = pageNumber(span, "page");
    const pageEnd = pageNumber(span, "page_end");
    const slide = pageNumber(span, "slide");
    const parts = [];
    if (page) parts.push(pageEnd && pageEnd > page ? "pp. " + page + "–" + pageEnd : "p. " + page);
    if (slide) parts.push("slide " + slide);
    return parts.join(", ");
  }

  /** The page label of a citation as an element, or null when the span has no page or slide. */
  function placeTag(span) {
    const label = placeLabel(span);
    return label ? h("span", { class: "place", "data-docqa": "place", text: label }) : null;
  }

  /** A passage's lines (one per paragraph, list item or table row) as separate paragraphs. */
  function passageLines(text) {
    return text.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => h("p", { text: line }));
  }

  /** Returns `url` made absolute against the API base, or null unless it is http(s). */
  function safeLink(url, base) {
    try {
      const abs = new URL(String(url), base + "/");
      return abs.protocol === "http:" || abs.protocol === "https:" ? abs.href : null;
    } catch (_err) {
      return null;
    }
  }

  /** sessionStorage that degrades to memory when storage is blocked (sandboxed iframes). */
  function makeStore(namespace) {
    const memory = {};
    const get = (key) => {
      try { return window.sessionStorage.getItem(namespace + key); } catch (_e) { return memory[key] ?? null; }
    };
    const set = (key, value) => {
      try { window.sessionStorage.setItem(namespace + key, value); } catch (_e) { memory[key] = value; }
    };
    return { get, set };
  }

  /** The chat widget: owns the shadow DOM, the session and the conversation. */
  class Widget {
    constructor(config) {
      this.config = config;
      this.store = makeStore("docqa:" + config.api + ":");
      this.pending = false;
      this.turns = this.loadTurns();
    }

    mount() {
      const host = document.createElement("div");
      host.id = "docqa-widget";
      host.setAttribute("data-position", this.config.position);
      this.shadow = host.attachShadow({ mode: "open" });
      adoptStyles(this.shadow);
      this.shadow.append(this.build());
      (document.body || document.documentElement).append(host);
      this.host = host;
      this.renderHistory();
      if (this.store.get("open") === "1") this.open(false);
    }

    build() {
      const uid = "docqa-" + Math.random().toString(36).slice(2, 8);
      const cls = "root" + (this.config.position === "bottom-left" ? " left" : "");
      this.root = h("div", { class: cls });
      this.root.style.setProperty("--accent", this.config.accent);
      this.launcher = h("button", {
        type: "button", class: "launcher", "data-docqa": "launcher",
        "aria-haspopup": "dialog", "aria-expanded": "false", "aria-controls": uid + "-panel",
        onclick: () => (this.isOpen() ? this.close() : this.open(true)),
      }, chatIcon(), h("span", { text: this.config.title }));
      this.log = h("div", {
        class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
        "aria-label": "Conversation", tabindex: "0",
      });
      this.input = h("input", {
        id: uid + "-input", type: "text", "data-docqa": "input", autocomplete: "off",
        maxlength: String(MAX_MESSAGE_CHARS), placeholder: "Ask a question…", enterkeyhint: "send",
      });
      this.send = h("button", { type: "submit", class: "send", "data-docqa": "send" }, "Send");
      const form = h("form", { class: "composer", onsubmit: (ev) => { ev.preventDefault(); this.submit(); } },
        h("label", { class: "sr-only", for: uid + "-input", text: "Your question" }), this.input, this.send);
      this.panel = h("section", {
        id: uid + "-panel", class: "panel", role: "dialog", "aria-modal": "false",
        "aria-labelledby": uid + "-title", hidden: true,
      },
      h("div", { class: "head" },
        h("h2", { id: uid + "-title", text: this.config.title }),
        h("button", { type: "button", class: "reset", onclick: () => this.reset() }, "New chat"),
        h("button", { type: "button", class: "close", "aria-label": "Close chat", onclick: () => this.close() }, "×")),
      this.log, form);
      this.root.append(this.launcher, this.panel);
      // Escape closes from anywhere in the widget (panel or launcher) and returns focus to the launcher.
      this.root.addEventListener("keydown", (ev) => {
        if (ev.key === "Escape" && this.isOpen()) { ev.stopPropagation(); this.close(); }
      });
      return this.root;
    }

    isOpen() { return !this.panel.hidden; }

    open(focus) {
      this.panel.hidden = false;
      this.root.classList.add("open");
      this.launcher.setAttribute("aria-expanded", "true");
      this.store.set("open", "1");
      this.scrollToEnd();
      if (focus) this.input.focus();
    }

    close() {
      this.panel.hidden = true;
      this.root.classList.remove("open");
      this.launcher.setAttribute("aria-expanded", "false");
      this.store.set("open", "0");
      this.launcher.focus();
    }

    /** Forgets the session and the messages: the next question starts a new conversation. */
    reset() {
      if (this.pending) return;
      this.turns = [];
      this.store.set("turns", "[]");
      this.store.set("session", "");
      this.log.replaceChildren();
      this.renderHistory();
      this.input.focus();
    }

    loadTurns() {
      try {
        const turns = JSON.parse(this.store.get("turns") || "[]");
        return Array.isArray(turns) ? turns : [];
      } catch (_e) {
        return [];
      }
    }

    remember(turn) {
      this.turns.push(turn);
      this.turns = this.turns.slice(-MAX_STORED_TURNS);
      this.store.set("turns", JSON.stringify(this.turns));
    }

    /** Re-renders the greeting and the stored conversation after a page load. */
    renderHistory() {
      this.log.append(h("div", { class: "msg bot greeting" }, h("p", { text: this.config.greeting })));
      for (const turn of this.turns) {
        if (turn.role === "user") this.log.append(userBubble(turn.text));
        else if (turn.role === "bot" && turn.reply) this.log.append(this.replyBubble(turn.reply, true));
      }
    }

    scrollToEnd() { this.log.scrollTop = this.log.scrollHeight; }

    /** Scrolls a new reply into view: with its question above it when that fits, else its start. */
    reveal(bubble) {
      const question = bubble.previousElementSibling;
      const top = (el) => el.offsetTop - this.log.offsetTop - 12;
      const bottom = bubble.offsetTop + bubble.offsetHeight - this.log.offsetTop + 12;
      if (bottom - top(bubble) > this.log.clientHeight) this.log.scrollTop = top(bubble);
      else if (question && bottom - top(question) > this.log.clientHeight) this.log.scrollTop = top(bubble);
      else if (question) this.log.scrollTop = Math.max(top(question), bottom - this.log.clientHeight);
      else this.log.scrollTop = this.log.scrollHeight;
    }

    submit() {
      const text = this.input.value.trim();
      if (!text || this.pending) return;
      this.input.value = "";
      this.ask(text);
    }

    /** Shows the user's message, then sends it; the panel stays usable whatever happens. */
    ask(text) {
      this.log.append(userBubble(text));
      this.remember({ role: "user", text });
      this.request(text);
    }

    async request(text) {
      this.pending = true;
      this.send.disabled = true;
      this.log.setAttribute("aria-busy", "true");
      const typing = h("div", { class: "msg bot typing", role: "status", "aria-label": "Looking it up…" },
        h("span"), h("span"), h("span"));
      this.log.append(typing);
      this.scrollToEnd();
      try {
        const reply = await this.post(text);
        if (reply.session_id) this.store.set("session", String(reply.session_id));
        typing.remove();
        const bubble = this.replyBubble(reply, false);
        this.log.append(bubble);
        this.remember({ role: "bot", reply: compactReply(reply) });
        this.reveal(bubble);
      } catch (err) {
        typing.remove();
        const bubble = this.errorBubble(err, text);
        this.log.append(bubble);
        this.reveal(bubble);
      } finally {
        this.pending = false;
        this.send.disabled = false;
        this.log.removeAttribute("aria-busy");
        this.refocus();
      }
    }

    /** Puts focus back in the input unless the user has moved it somewhere else meanwhile. */
    refocus() {
      const outer = document.activeElement;
      const lost = !outer || outer === document.body || (outer === this.host && !this.shadow.activeElement);
      if (this.isOpen() && lost) this.input.focus();
    }

    async post(message) {
      const headers = { "Content-Type": "application/json", Accept: "application/json" };
      if (this.config.apiKey) headers.Authorization = "Bearer " + this.config.apiKey;
      const body = { message };
      const session = this.store.get("session");
      if (session) body.session_id = session;
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), REQUEST_TIMEOUT_MS);
      let res;
      try {
        res = await fetch(this.config.api + "/v1/chat", {
          method: "POST", headers, body: JSON.stringify(body), signal: ctl.signal, credentials: "omit",
        });
      } catch (err) {
        if (err && err.name === "AbortError") throw new Error("The server took too long to answer.");
        if (new URL(this.config.api).origin !== window.location.origin) {
          console.warn("docqa widget: request to " + this.config.api + " failed. If the service is up, " +
            "add this page's origin (" + window.location.origin + ") to its DOCQA_CORS_ORIGINS.");
        }
        throw new Error("Could not reach the server. Check your connection.");
      } finally {
        clearTimeout(timer);
      }
      let data = null;
      try { data = await res.json(); } catch (_e) { data = null; }
      if (!res.ok && session && data && data.error && data.error.code === "unknown_session") {
        // The conversation expired on the server (or was never issued there): start a new one.
        this.store.set("session", "");
        return this.post(message);
      }
      if (!res.ok) throw new Error(errorText(res, data));
      if (!data || typeof data !== "object") throw new Error("The server sent an unreadable reply.");
      return data;
    }

    errorBubble(err, text) {
      const bubble = h("div", { class: "msg bot error", role: "alert" },
        h("p", { text: "Sorry, something went wrong. " + (err && err.message ? err.message : "") }));
      const retry = h("button", { type: "button", class: "retry", onclick: () => {
        if (this.pending) return;
        bubble.remove();
        this.request(text);
      } }, "Retry");
      bubble.append(retry);
      return bubble;
    }

    /** Renders one server reply; every server string goes in as text. */
    replyBubble(reply, restored) {
      const bubble = h("div", { class: "msg bot", "data-docqa": "answer" });
      const passages = Array.isArray(reply.passages) ? reply.passages : [];
      const clarifications = Array.isArray(reply.clarifications) ? reply.clarifications : [];
      for (const clar of clarifications) bubble.append(...this.clarificationBlock(clar, restored));
      const resolved = reply.resolved_question;
      if (resolved && reply.question && String(resolved).trim() !== String(reply.question).trim()) {
        bubble.append(h("p", { class: "resolved", text: "Searched for: " + resolved }));
      }
      if (reply.abstained || !reply.answer) {
        bubble.append(h("p", { class: "abstain",
          text: "The documents don't answer this question." }));
        if (passages.length) {
          bubble.append(h("p", { class: "label", text: "Related passages" }));
          bubble.append(this.citationList(passages));
        }
        return bubble;
      }
      const answer = reply.answer;
      if (clarifications.length) bubble.append(h("p", { class: "label", text: "Best match so far" }));
      const idx = passages.findIndex((p) => p.rank === answer.passage_rank);
      const p = h("p", { class: "answer-text" }, shownText(answer).trim());
      if (idx >= 0) {
        // The reference opens the viewer on the answer sentence itself, else on its passage.
        const href = safeLink(answer.url || passages[idx].url, this.config.api);
        const label = "[" + (idx + 1) + "]";
        const where = placeLabel(answer);
        p.append(" ", href
          ? h("a", { class: "ref", href, target: "_blank", rel: "noopener", "data-docqa": "citation",
            "aria-label": "Open source " + (idx + 1) + " at the answer" + (where ? ", " + where : "") }, label)
          : h("span", { class: "ref", text: label }));
        const tag = placeTag(answer);
        if (tag) p.append(" ", tag);
      }
      bubble.append(p);
      if (passages.length) {
        bubble.append(h("p", { class: "label", text: passages.length > 1 ? "Sources" : "Source" }));
        bubble.append(this.citationList(passages));
      }
      return bubble;
    }

    clarificationBlock(clar, restored) {
      const term = String(clar.term || "");
      const meanings = Array.isArray(clar.meanings) ? clar.meanings : [];
      const intro = h("p", { text: "“" + term + "” means different things in different documents. Which one do you mean?" });
      const choices = h("div", { class: "choices", role: "group", "aria-label": "Meanings of " + term });
      for (const meaning of meanings) {
        const expansion = String(meaning.expansion || "");
        choices.append(h("button", {
          type: "button", class: "choice", "data-docqa": "clarification", disabled: restored,
          onclick: (ev) => {
            if (this.pending) return;
            for (const b of choices.querySelectorAll("button")) b.disabled = true;
            ev.currentTarget.setAttribute("aria-pressed", "true");
            this.ask(expansion);
          },
        }, expansion));
      }
      return [intro, choices];
    }

    /** Numbered sources; past the first few they fold into a "more sources" expander. */
    citationList(passages) {
      const shown = this.sourceItems(passages.slice(0, VISIBLE_SOURCES), 1);
      if (passages.length <= VISIBLE_SOURCES) return shown;
      const rest = passages.length - VISIBLE_SOURCES;
      const more = h("details", { class: "more" },
        h("summary", { text: rest + (rest === 1 ? " more source" : " more sources") }),
        this.sourceItems(passages.slice(VISIBLE_SOURCES), VISIBLE_SOURCES + 1));
      const wrap = document.createDocumentFragment();
      wrap.append(shown, more);
      return wrap;
    }

    sourceItems(passages, first) {
      const list = h("ol", { class: "cites", start: String(first) });
      for (const passage of passages) {
        const href = safeLink(passage.url, this.config.api);
        const title = String(passage.title || passage.doc_id || "Source");
        const link = href
          ? h("a", { href, target: "_blank", rel: "noopener", "data-docqa": "citation" }, title)
          : h("span", { text: title });
        const item = h("li", null, link, placeTag(passage));
        if (passage.section) item.append(h("span", { class: "section", text: String(passage.section) }));
        const lines = passageLines(shownText(passage));
        if (lines.length) {
          item.append(h("details", null, h("summary", { text: "Show passage" }), h("blockquote", null, ...lines)));
        }
        list.append(item);
      }
      return list;
    }
  }

  /**
   * Styles the shadow root with a constructed stylesheet: unlike a <style> element it is not
   * blocked by a host page's Content-Security-Policy without 'unsafe-inline'.
   */
  function adoptStyles(shadow) {
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLE);
      shadow.adoptedStyleSheets = [sheet];
    } catch (_err) {
      shadow.append(h("style", { text: STYLE }));
    }
  }

  function userBubble(text) {
    return h("div", { class: "msg user" }, h("p", { text }));
  }

  /** What a reply needs to be re-rendered after a reload (keeps sessionStorage small). */
  function compactReply(reply) {
    const passages = (Array.isArray(reply.passages) ? reply.passages : []).map((p) => ({
      rank: p.rank, title: p.title, doc_id: p.doc_id, section: p.section, url: p.url, display: shownText(p),
      page: p.page, page_end: p.page_end, slide: p.slide,
    }));
    return {
      answer: reply.answer
        ? {
          display: shownText(reply.answer), passage_rank: reply.answer.passage_rank, url: reply.answer.url,
          page: reply.answer.page, page_end: reply.answer.page_end, slide: reply.answer.slide,
        }
        : null,
      abstained: Boolean(reply.abstained), passages, clarifications: reply.clarifications || [],
      resolved_question: reply.resolved_question, question: reply.question,
    };
  }

  function errorText(res, data) {
    const message = data && data.error && typeof data.error.message === "string" ? data.error.message : "";
    if (res.status === 429) {
      const wait = res.headers.get("Retry-After");
      return "Too many questions at once" + (wait ? "; try again in " + wait + " s." : "; try again shortly.");
    }
    if (res.status === 401 || res.status === 403) return "This site is not allowed to use the service.";
    if (res.status === 503) return "The service is still starting. " + message;
    return message || "The server answered with status " + res.status + ".";
  }

  function chatIcon() {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    svg.append(path);
    return svg;
  }

  function start() {
    const widget = new Widget(readConfig(SCRIPT));
    widget.mount();
    window.docqaWidget = widget;
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
