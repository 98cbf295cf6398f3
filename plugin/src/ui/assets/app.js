// Mosaic UI: live updates over server-sent events and the actions' confirm-and-send.
// Every piece of HTML it inserts was rendered and escaped by the server; it never builds
// markup from data itself.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const live = document.getElementById("live");
  const say = (t) => { if (live) live.textContent = t; };

  function fromHtml(html) {
    const t = document.createElement("template");
    t.innerHTML = html;
    return t.content.firstElementChild;
  }

  // Overview: replace, add or remove the rows a batch of watch changes touched.
  // The rows sit in several tables (the first one, then chunks laid out when scrolled to);
  // new rows join the last one.
  function applyRows(msg) {
    const all = document.getElementById("overview");
    if (!all) return;
    const bodies = all.querySelectorAll("tbody");
    const body = bodies[bodies.length - 1];
    const have = new Map();
    for (const tr of all.querySelectorAll("tr[data-key]")) have.set(tr.dataset.key, tr);
    for (const [key, html] of Object.entries(msg.rows)) {
      const old = have.get(key);
      if (!html) { if (old) old.remove(); continue; }
      const row = fromHtml(html);
      if (old) old.replaceWith(row); else body.appendChild(row);
    }
    if (msg.complete) {
      for (const [key, tr] of have) if (!(key in msg.rows)) tr.remove();
    }
    const empty = document.getElementById("empty");
    if (empty && all.querySelector("tr[data-key]")) empty.remove();
  }

  // Binding and Build pages: fetch the page again when their Binding changed and swap its
  // live parts ([data-live] with an id); forms being filled in are left alone.
  async function refreshMain() {
    const r = await fetch(location.pathname, { credentials: "same-origin" });
    if (!r.ok) return;
    const doc = new DOMParser().parseFromString(await r.text(), "text/html");
    for (const el of document.querySelectorAll("[data-live][id]")) {
      const fresh = doc.getElementById(el.id);
      if (fresh) el.replaceWith(document.importNode(fresh, true));
    }
    wireForms();
  }

  function connect() {
    const es = new EventSource("/events");
    es.addEventListener("hello", () => say("live"));
    es.addEventListener("rows", (e) => {
      const msg = JSON.parse(e.data);
      applyRows(msg);
      const page = document.querySelector("[data-page-key]");
      if (page && (msg.complete || msg.touched.includes(page.dataset.pageKey))) refreshMain();
      say("live · updated " + new Date().toLocaleTimeString());
    });
    es.onerror = () => say("reconnecting…");
  }

  function wireForms() {
    for (const f of document.querySelectorAll("form.action")) {
      if (f.dataset.wired) continue;
      f.dataset.wired = "1";
      for (const c of f.querySelectorAll("input.csrf")) c.value = csrf;
      f.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        if (!window.confirm(f.dataset.confirm)) return;
        // The result region is looked up again after each await: a live refresh may have
        // replaced the page's main part meanwhile.
        const result = (html) => {
          const out = document.getElementById("result");
          if (out) out.innerHTML = html;
        };
        result("<p>working…</p>");
        const r = await fetch(f.action, {
          method: "POST",
          credentials: "same-origin",
          headers: { "x-mosaic-csrf": csrf, "x-mosaic-fragment": "1" },
          body: new URLSearchParams(new FormData(f)),
        });
        result(await r.text());
      });
    }
  }

  wireForms();
  connect();
})();
