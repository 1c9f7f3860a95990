// The web chat widget: one <script src=".../widget.js" async> tag on the casino site adds a
// floating button that opens the player page in an iframe. It reads data-player-token (the
// casino backend's signed player token; an empty value means nobody is signed in) and
// data-lang from its own tag. It only creates elements and sets styles through the DOM, so it
// works under the host page's Content-Security-Policy as long as the gateway may be framed
// (frame-src) and loaded (script-src). The gateway fills in the settings below.
(function (cfg) {
  "use strict";
  const script = document.currentScript;
  if (!script || !cfg || window.__gatewayWebchat) return;
  window.__gatewayWebchat = true;

  const origin = new URL(script.src, location.href).origin;
  // data-lang is the casino site's language. Without it the chat page picks from the
  // browser's languages itself (the iframe's request carries them), so none is passed on.
  const pageLang = script.dataset.lang || "";
  const langs = pageLang ? [pageLang] : (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"]);
  const playerToken = script.getAttribute("data-player-token");

  // greeting picks the button's tooltip like the chat picks its words: each wanted language
  // by exact tag, then by its base language; English last.
  function greeting() {
    const g = cfg.greetings || {};
    for (const lang of langs) {
      const base = lang.split("-")[0].toLowerCase();
      for (const key of Object.keys(g)) if (key.toLowerCase() === lang.toLowerCase()) return g[key];
      for (const key of Object.keys(g)) if (key.toLowerCase() === base) return g[key];
    }
    return g.en || cfg.title;
  }

  function style(el, props) {
    for (const [k, v] of Object.entries(props)) el.style.setProperty(k, v);
  }

  const button = document.createElement("button");
  button.type = "button";
  button.append(icon());
  button.title = greeting();
  button.setAttribute("aria-label", cfg.title);
  style(button, {
    position: "fixed", right: "20px", bottom: "20px", width: "56px", height: "56px", "border-radius": "50%",
    border: "0", background: cfg.color, color: cfg.on_color, cursor: "pointer", display: "flex",
    "align-items": "center", "justify-content": "center", padding: "0",
    "box-shadow": "0 4px 14px rgba(0,0,0,.25)", "z-index": "2147483000",
  });

  // icon draws a speech bubble; an SVG needs no font and no markup parsing.
  function icon() {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    const path = document.createElementNS(ns, "path");
    for (const [k, v] of Object.entries({ viewBox: "0 0 24 24", width: "28", height: "28", fill: "none",
      stroke: "currentColor", "stroke-width": "2", "stroke-linecap": "round", "stroke-linejoin": "round", "aria-hidden": "true" })) {
      svg.setAttribute(k, v);
    }
    path.setAttribute("d", "M21 11.5a8.38 8.38 0 0 1-.9 3.8 8.5 8.5 0 0 1-7.6 4.7 8.38 8.38 0 0 1-3.8-.9L3 21l1.9-5.7a8.38 8.38 0 0 1-.9-3.8 8.5 8.5 0 0 1 4.7-7.6 8.38 8.38 0 0 1 3.8-.9h.5a8.48 8.48 0 0 1 8 8v.5z");
    svg.append(path);
    return svg;
  }

  const badge = document.createElement("span");
  style(badge, {
    position: "absolute", top: "4px", right: "4px", width: "12px", height: "12px", "border-radius": "50%",
    background: "#e5484d", display: "none",
  });
  button.append(badge);

  let frame = null;
  let loaded = false;
  let open = false;

  function pageURL() {
    const u = new URL(cfg.path, origin);
    u.searchParams.set("embed", "1");
    if (pageLang) u.searchParams.set("lang", pageLang);
    if (playerToken !== null) u.searchParams.set("player", playerToken);
    return u.href;
  }

  function setOpen(v) {
    open = v;
    if (!frame) {
      frame = document.createElement("iframe");
      frame.src = pageURL();
      frame.title = cfg.title;
      frame.setAttribute("allow", "clipboard-write");
      style(frame, {
        position: "fixed", right: "20px", bottom: "88px", width: "min(380px, calc(100vw - 40px))",
        height: "min(600px, calc(100vh - 120px))", border: "0", "border-radius": "12px",
        "box-shadow": "0 8px 30px rgba(0,0,0,.3)", background: "#fff", "z-index": "2147483000",
      });
      frame.addEventListener("load", () => { loaded = true; tell(); });
      document.body.append(frame);
    }
    frame.style.setProperty("display", open ? "block" : "none");
    badge.style.setProperty("display", "none");
    tell();
  }

  // tell lets the page know whether it is shown, so it sends read receipts only then. Before
  // the page loaded, the frame still holds about:blank of the host's origin.
  function tell() {
    if (loaded) frame.contentWindow.postMessage({ type: "webchat:open", open }, origin);
  }

  button.addEventListener("click", () => setOpen(!open));
  window.addEventListener("message", (e) => {
    if (!frame || e.origin !== origin || e.source !== frame.contentWindow || !e.data) return;
    if (e.data.type === "webchat:close") setOpen(false);
    if (e.data.type === "webchat:unread" && !open) badge.style.setProperty("display", "block");
  });

  function mount() { document.body.append(button); }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})(/*CONFIG*/null);
